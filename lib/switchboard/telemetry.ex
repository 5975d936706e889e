defmodule Switchboard.Telemetry do
  @moduledoc """
  Switchboard's `:telemetry` events and logs.

  Events are emitted when the `:telemetry` application is there (add
  `{:telemetry, "~> 1.0"}` to your deps, as Phoenix and Ecto apps already
  have) and some handler is attached to an event whose name starts with
  `:switchboard`. Switchboard does not depend on it: with no handler
  attached, a call sends no event at all.

      :telemetry.attach_many(
        "llm-metrics",
        [[:switchboard, :call, :stop], [:switchboard, :call, :exception]],
        &MyApp.Metrics.handle_event/4,
        nil
      )

  ## Events

  | event | measurements | metadata (beside the common keys) |
  |-------|--------------|-----------------------------------|
  | `[:switchboard, :call, :start]` | `system_time`, `monotonic_time` | `client`: the `client:` option, or `nil` for the primary |
  | `[:switchboard, :call, :stop]` | `duration`, `monotonic_time`, `input_tokens`, `output_tokens`, `total_tokens`, `cost` (the call's, with `pricing`) | `client`, `provider`: the leaf that answered; `model`: the model the provider said answered; `attempts`: how many were made |
  | `[:switchboard, :call, :exception]` | `duration`, `monotonic_time` | `kind: :error`, `reason`: the `%Switchboard.Error{}`, `stacktrace: []`, `error_kind`: its kind, `client`, `provider`, `status`: of the error |
  | `[:switchboard, :attempt, :start]` | `system_time`, `monotonic_time` | `attempt`: its index (1-based), `client`, `provider` |
  | `[:switchboard, :attempt, :stop]` | `duration`, `monotonic_time` | `attempt`, `client`, `provider`, `status` (HTTP, `nil` if none came), `error_kind` (`nil` on success), `error`: the attempt's `%Switchboard.Error{}` or `nil` |
  | `[:switchboard, :stream, :first_token]` | `duration` (since the call started), `attempt_duration` (since the attempt started), `monotonic_time` | `attempt`, `client`, `provider` |
  | `[:switchboard, :circuit, :open]` | `system_time`, `monotonic_time`, `cooldown` (how long attempts are refused) | `client`: the leaf whose circuit opened |
  | `[:switchboard, :circuit, :half_open]` | `system_time`, `monotonic_time` | `client`: its cooldown is over and one probe attempt goes through |
  | `[:switchboard, :circuit, :close]` | `system_time`, `monotonic_time` | `client`: its probe was answered |

  Every event's metadata also has the common keys:

    * `registry` - the registry's name when it runs under one, else `nil`
    * `call_ref` - the call's ref (`%Switchboard.Call{ref: ref}`, the first
      element of its messages); also given as `telemetry_span_context`, so
      tools that pair `:start` with `:stop` by it work as with
      `:telemetry.span/3`
    * `metadata` - the call's `metadata:` option (`nil` when not given)

  Times are in `:native` units, as `:telemetry.span/3` has them: convert
  with `System.convert_time_unit(duration, :native, :millisecond)`. A
  `:stop` or `:exception` event's `monotonic_time` minus its `:start`'s is
  its `duration`. Token counts are present when the provider reported
  them.

  Each call has exactly one `[:switchboard, :call, :start]` and then
  exactly one of `:stop` (the call returned `{:ok, response}`) or
  `:exception` (it returned `{:error, error}`), whatever ended it: an
  error, its timeout, `Switchboard.cancel/1` (`error_kind: :cancelled`),
  the receiver's death, or an internal error. `Switchboard.await/2` giving
  up on its own timeout cancels the call, which then ends with
  `:cancelled`. Each attempt has one `:attempt` `:start` and one `:stop`,
  and a streamed attempt that yields text has one `:first_token`. That
  includes attempts refused with no HTTP by the client's circuit breaker
  or limits: their `:stop` has `status: nil` and `error_kind`
  `:circuit_open` or `:rate_limited`. An attempt's `:start` fires before
  it waits for its client's limits (`max_in_flight`,
  `requests_per_minute`, `tokens_per_minute`), so its `:stop`'s
  `duration` (and `Switchboard.Attempt`'s) includes that wait.

  ## Where handlers run

  Every event comes from the call's work on the NIF's runtime threads, and
  its handlers run in one of Switchboard's dispatcher processes
  (supervised by the `:switchboard` application), not the caller's: so
  they fire however the caller consumes its messages (a plain `receive` in
  a GenServer included) and even when the caller died. Use `call_ref` or
  `metadata` to tie them to the caller. Events of one call reach its
  handlers in order, `:start` first (its times are those of the moment the
  caller made the call); events of different calls may interleave.
  A handler that raises is detached by `:telemetry` and logged, as always;
  the call it observed is not affected. Without the `:switchboard`
  application running (a script that does not start it) no event fires,
  the call's `:start` included, and nothing is logged. A dispatcher that
  dies is restarted by the application; the calls whose events it was
  taking lose the rest of them (the calls themselves are not affected).

  ## Logs

  Each failed attempt is logged at `:warning` and each call that ends in
  an error at `:error`, through `Logger`, with the metadata `registry`,
  `client`, `provider`, `status`, `kind` (the error's kind) and
  `attempt` (the attempt's index; the number of attempts for a call).
  The message is the `Switchboard.Error`'s message, with keys removed:
  Switchboard's own messages never quote the prompt, though a provider's
  error text, passed on as it came, could quote what it refused.
  Cancelled attempts and calls are not logged: the caller asked for that.
  A client's circuit breaker opening is logged once, at the attempt level,
  with `kind: :circuit_open`; the attempts its open circuit (or a full
  limit) then refuses with no HTTP are not logged, so an open circuit does
  not log on every call. They still have their `:attempt` events, and a
  call that fails because of them is logged at the call level.

  The levels are set in one place, read at each call:

      config :switchboard, log: [attempt: :warning, call: :error]  # the default
      config :switchboard, log: [attempt: false]                   # calls only
      config :switchboard, log: false                              # no logs

  Like every log, they are also dropped below `Logger`'s level.

  ## Cost

  A call decides once, when it starts, what it sends: every event when a
  handler is attached for a `:switchboard` event (`:telemetry.list_handlers/1`
  on Switchboard's prefix), else only its failures when logging is on,
  else nothing. A call that succeeds with no handler attached therefore
  sends no message besides its own. The check costs under half a
  microsecond with no handler attached anywhere, and grows with the
  handlers attached to any event (`list_handlers/1` scans them all: about
  5 µs with 200); it is made per call, not cached, so a handler attached
  just before a call sees it. See `bench/README.md` for the measured
  overhead.
  """

  require Logger

  alias Switchboard.{Attempt, Error, Registry, Usage}

  # :telemetry is optional: it is called only once it is loaded.
  @compile {:no_warn_undefined, :telemetry}

  @dispatchers {__MODULE__, :dispatchers}
  @default_log [attempt: :warning, call: :error]
  @levels [:emergency, :alert, :critical, :error, :warning, :notice, :info, :debug]

  @typedoc false
  @type observe ::
          nil
          | {:all, pid(), {atom() | nil, term(), integer(), term()}}
          | {:failures, pid(), atom() | nil}

  # --- the caller's side ----------------------------------------------------

  @doc false
  # What the call sends and where, decided when it starts (see Cost).
  @spec observe(Registry.t(), keyword()) :: observe()
  def observe(%Registry{name: name}, opts) do
    cond do
      handlers?() ->
        if dispatcher = dispatcher() do
          context =
            {name, Keyword.get(opts, :metadata), System.monotonic_time(),
             Keyword.get(opts, :client)}

          {:all, dispatcher, context}
        end

      logging?() ->
        if dispatcher = dispatcher(), do: {:failures, dispatcher, name}

      true ->
        nil
    end
  end

  defp handlers? do
    :erlang.module_loaded(:telemetry) and :telemetry.list_handlers([:switchboard]) != []
  end

  # Called on every call: reads the config without building anything.
  defp logging? do
    case Application.get_env(:switchboard, :log) do
      nil ->
        allowed?(@default_log[:attempt]) or allowed?(@default_log[:call])

      false ->
        false

      config when is_list(config) ->
        allowed?(Keyword.get(config, :attempt, @default_log[:attempt])) or
          allowed?(Keyword.get(config, :call, @default_log[:call]))

      _ ->
        false
    end
  end

  defp allowed?(false), do: false
  defp allowed?(level) when level in @levels, do: :logger.allow(level, __MODULE__)
  defp allowed?(_not_a_level), do: false

  # The dispatcher of this caller's scheduler: calls from one process go to
  # one dispatcher, and calls from many are spread over all of them.
  defp dispatcher do
    case :persistent_term.get(@dispatchers, nil) do
      nil ->
        nil

      names ->
        index = rem(:erlang.system_info(:scheduler_id), tuple_size(names))
        Process.whereis(elem(names, index))
    end
  end

  # --- configuration ----------------------------------------------------------

  @doc false
  # The dispatchers' names, one per scheduler, fixed when the application
  # first starts.
  @spec dispatcher_names() :: [atom()]
  def dispatcher_names do
    case :persistent_term.get(@dispatchers, nil) do
      nil ->
        names =
          for i <- 1..System.schedulers_online(),
              do: Module.concat(Switchboard.Telemetry.Dispatcher, "N#{i}")

        :persistent_term.put(@dispatchers, List.to_tuple(names))
        names

      names ->
        Tuple.to_list(names)
    end
  end

  @doc false
  # Checks `config :switchboard, :log` (raises `ArgumentError` naming what
  # is wrong); the application calls it when it starts.
  @spec validate_log!(term()) :: :ok
  def validate_log!(false), do: :ok

  def validate_log!(config) do
    unless Keyword.keyword?(config) do
      raise ArgumentError,
            "config :switchboard, :log must be false or a keyword list such as " <>
              "[attempt: :warning, call: :error], got: #{inspect(config)}"
    end

    for {key, level} <- config do
      unless key in [:attempt, :call] do
        raise ArgumentError,
              "unknown key #{inspect(key)} in config :switchboard, :log (expected :attempt or :call)"
      end

      unless level == false or level in @levels do
        raise ArgumentError,
              "config :switchboard, :log, #{key}: must be a Logger level or false, " <>
                "got: #{inspect(level)}"
      end
    end

    :ok
  end

  defp log_levels do
    case Application.get_env(:switchboard, :log, @default_log) do
      false -> %{attempt: false, call: false}
      config when is_list(config) -> Map.new(Keyword.merge(@default_log, config))
      _ -> Map.new(@default_log)
    end
  end

  # --- the dispatcher's side ----------------------------------------------------

  @doc false
  # One event of a call, from the NIF (see native/switchboard_nif/src/events.rs).
  @spec dispatch(reference(), term(), tuple()) :: :ok
  def dispatch(ref, {name, metadata, start, client}, event) do
    common = %{registry: name, call_ref: ref, telemetry_span_context: ref, metadata: metadata}
    # The call's `client:` option travels in the context, not the event.
    emit(with({:start} <- event, do: {:start, client}), common, start)
    log(event, common)
  end

  def dispatch(ref, name, event) do
    log(event, %{registry: name, call_ref: ref})
  end

  defp emit({:start, client}, common, start) do
    execute(
      [:switchboard, :call, :start],
      %{system_time: start + System.time_offset(), monotonic_time: start},
      Map.put(common, :client, client)
    )
  end

  defp emit({:attempt_start, number, client, provider, offset}, common, start) do
    at = start + native(offset)

    execute(
      [:switchboard, :attempt, :start],
      %{system_time: at + System.time_offset(), monotonic_time: at},
      Map.merge(common, %{attempt: number, client: client, provider: provider})
    )
  end

  defp emit(
         {:attempt_stop, number, %Attempt{} = attempt, offset, duration, _refused},
         common,
         start
       ) do
    execute(
      [:switchboard, :attempt, :stop],
      %{duration: native(duration), monotonic_time: start + native(offset)},
      Map.merge(common, %{
        attempt: number,
        client: attempt.client,
        provider: attempt.provider,
        status: attempt.status,
        error_kind: attempt.error && attempt.error.kind,
        error: attempt.error
      })
    )
  end

  defp emit({:first_token, number, client, provider, offset, since_attempt}, common, start) do
    execute(
      [:switchboard, :stream, :first_token],
      %{
        duration: native(offset),
        attempt_duration: native(since_attempt),
        monotonic_time: start + native(offset)
      },
      Map.merge(common, %{attempt: number, client: client, provider: provider})
    )
  end

  defp emit({:stop, {client, provider, model, %Usage{} = usage, attempts}, offset}, common, start) do
    # Counts the provider did not report, and cost without `pricing`, are left out.
    measurements =
      for {key, value} <- [
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            total_tokens: usage.total_tokens,
            cost: usage.cost
          ],
          value != nil,
          into: %{duration: native(offset), monotonic_time: start + native(offset)},
          do: {key, value}

    execute(
      [:switchboard, :call, :stop],
      measurements,
      Map.merge(common, %{client: client, provider: provider, model: model, attempts: attempts})
    )
  end

  defp emit({:exception, %Error{} = error, offset}, common, start) do
    execute(
      [:switchboard, :call, :exception],
      %{duration: native(offset), monotonic_time: start + native(offset)},
      Map.merge(common, %{
        kind: :error,
        reason: error,
        stacktrace: [],
        error_kind: error.kind,
        client: error.client,
        provider: provider(error),
        status: error.status
      })
    )
  end

  # A circuit's change is told by the call whose attempt made it; every
  # call through the client shares the circuit.
  defp emit({:circuit, client, phase, cooldown}, common, _start) do
    measurements = %{system_time: System.system_time(), monotonic_time: System.monotonic_time()}

    measurements =
      if phase == :open,
        do: Map.put(measurements, :cooldown, native(cooldown)),
        else: measurements

    execute([:switchboard, :circuit, phase], measurements, Map.put(common, :client, client))
  end

  # Events a caller with no handler attached does not send.
  defp execute(event, measurements, metadata) do
    if :erlang.module_loaded(:telemetry),
      do: :telemetry.execute(event, measurements, metadata),
      else: :ok
  end

  # Refused attempts (an open circuit, a full limit) are not logged: while
  # a circuit is open every call would log one. Its opening is logged once.
  defp log(
         {:attempt_stop, number, %Attempt{error: %Error{} = error} = attempt, _, _, false},
         common
       )
       when error.kind != :cancelled do
    with level when level != false <- log_levels().attempt do
      Logger.log(
        level,
        fn ->
          "Switchboard: attempt #{number} on client #{inspect(attempt.client)} " <>
            "(#{attempt.provider}) failed: #{describe(error)}"
        end,
        registry: common.registry,
        call_ref: common.call_ref,
        client: attempt.client,
        provider: attempt.provider,
        status: attempt.status,
        kind: error.kind,
        attempt: number
      )
    end

    :ok
  end

  defp log({:exception, %Error{} = error, _offset}, common) when error.kind != :cancelled do
    with level when level != false <- log_levels().call do
      Logger.log(
        level,
        fn -> "Switchboard: call failed: #{describe(error)}" end,
        registry: common.registry,
        call_ref: common.call_ref,
        client: error.client,
        provider: provider(error),
        status: error.status,
        kind: error.kind,
        attempt: length(error.attempts)
      )
    end

    :ok
  end

  defp log({:circuit, client, :open, cooldown}, common) do
    with level when level != false <- log_levels().attempt do
      ms = System.convert_time_unit(cooldown, :nanosecond, :millisecond)

      Logger.log(
        level,
        fn ->
          "Switchboard: the circuit of client #{inspect(client)} opened: " <>
            "its attempts are refused for #{ms} ms"
        end,
        registry: common.registry,
        call_ref: common.call_ref,
        client: client,
        kind: :circuit_open
      )
    end

    :ok
  end

  defp log(_event, _common), do: :ok

  defp describe(%Error{kind: kind, status: nil, message: message}), do: "#{kind}: #{message}"

  defp describe(%Error{kind: kind, status: status, message: message}),
    do: "#{kind} (HTTP #{status}): #{message}"

  # The provider of the attempt the error came from, when one was made.
  defp provider(%Error{attempts: attempts}) do
    case List.last(attempts) do
      %Attempt{provider: provider} -> provider
      nil -> nil
    end
  end

  defp native(nanoseconds), do: System.convert_time_unit(nanoseconds, :nanosecond, :native)
end
