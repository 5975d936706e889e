defmodule Switchboard.TelemetryTest do
  # Handlers are global: no other test makes calls while these run, so a
  # dispatcher's mailbox holds only these tests' events.
  use Switchboard.Case, async: false

  import ExUnit.CaptureLog

  @events Switchboard.Case.telemetry_events()

  # Forwards the events of the calls made with `metadata: tag` to the test.
  def forward(event, measurements, metadata, {test, tag}) do
    if metadata.metadata == tag, do: send(test, {:event, event, measurements, metadata, self()})
  end

  setup do
    tag = make_ref()
    id = {__MODULE__, tag}
    :ok = :telemetry.attach_many(id, @events, &__MODULE__.forward/4, {self(), tag})
    on_exit(fn -> :telemetry.detach(id) end)
    %{tag: tag}
  end

  # Every event of the tagged calls so far. The NIF sends a call's events
  # before its terminal message, so once that (or the last event) has
  # arrived, a round trip through each dispatcher means they all ran.
  defp events(tag) do
    for name <- Switchboard.Telemetry.dispatcher_names(), do: :sys.get_state(name)
    gather(tag, [])
  end

  defp gather(tag, acc) do
    receive do
      {:event, event, measurements, %{metadata: ^tag} = metadata, pid} ->
        gather(tag, [{event, measurements, metadata, pid} | acc])
    after
      0 -> Enum.reverse(acc)
    end
  end

  defp named(events, name),
    do: for({[:switchboard | ^name], m, md, pid} <- events, do: {m, md, pid})

  defp one(events, name) do
    assert [event] = named(events, name), "expected one #{inspect(name)} in #{inspect(events)}"
    event
  end

  defp counts(events), do: Enum.frequencies_by(events, fn {[_ | name], _, _, _} -> name end)

  test "call/3 on a named registry: each event once, times that add up, tokens and metadata",
       %{tag: tag} do
    sc = scenario()
    name = :"telemetry_test_#{System.unique_integer([:positive])}"
    start_supervised!({Registry, name: name, client_registry: %{clients: [openai("A", sc)]}})

    assert {:ok, %Response{} = resp} = Switchboard.call(name, "hi", metadata: tag)
    events = events(tag)

    assert counts(events) == %{
             [:call, :start] => 1,
             [:attempt, :start] => 1,
             [:attempt, :stop] => 1,
             [:call, :stop] => 1
           }

    {start, start_meta, start_pid} = one(events, [:call, :start])
    {stop, stop_meta, stop_pid} = one(events, [:call, :stop])
    {attempt_start, attempt_meta, _} = one(events, [:attempt, :start])
    {attempt_stop, attempt_stop_meta, _} = one(events, [:attempt, :stop])

    # Every event runs in a dispatcher, the call's one.
    assert start_pid == stop_pid
    assert stop_pid != self()

    assert is_integer(start.system_time) and is_integer(start.monotonic_time)
    assert stop.duration > 0
    assert stop.monotonic_time - start.monotonic_time == stop.duration
    assert attempt_start.monotonic_time >= start.monotonic_time
    assert attempt_stop.monotonic_time - attempt_stop.duration >= start.monotonic_time
    assert attempt_stop.monotonic_time <= stop.monotonic_time
    assert attempt_stop.duration > 0

    assert stop.input_tokens == resp.usage.input_tokens
    assert stop.output_tokens == resp.usage.output_tokens
    assert stop.total_tokens == resp.usage.total_tokens
    assert is_integer(stop.total_tokens)
    # No pricing, no cost.
    refute Map.has_key?(stop, :cost)

    ref = start_meta.call_ref
    assert is_reference(ref)

    for meta <- [start_meta, stop_meta, attempt_meta, attempt_stop_meta] do
      assert %{registry: ^name, call_ref: ^ref, telemetry_span_context: ^ref, metadata: ^tag} =
               meta
    end

    assert start_meta.client == nil
    assert %{client: "A", provider: "openai", model: model, attempts: 1} = stop_meta
    assert model == resp.model
    assert %{attempt: 1, client: "A", provider: "openai"} = attempt_meta

    assert %{attempt: 1, status: 200, error_kind: nil, error: nil, client: "A"} =
             attempt_stop_meta
  end

  test "retried attempts: one start and stop each, the failed one with its status and kind",
       %{tag: tag} do
    sc = scripted([%{status: 429}, %{}])
    pricing = %{input_per_million: 1.0, output_per_million: 2.0}

    reg =
      registry!(%{
        clients: [openai("A", sc, %{pricing: pricing}, "Quick")],
        retry_policies: %{
          "Quick" => %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 10}}
        }
      })

    assert {:ok, resp} = Switchboard.call(reg, "hi", metadata: tag, client: "A")
    events = events(tag)
    assert counts(events)[[:attempt, :start]] == 2
    {stop, _, _} = one(events, [:call, :stop])
    assert is_float(stop.cost) and stop.cost == resp.usage.cost
    assert counts(events)[[:call, :stop]] == 1
    refute counts(events)[[:call, :exception]]

    stops = named(events, [:attempt, :stop])

    assert [
             %{attempt: 1, status: 429, error_kind: :rate_limited, error: %Error{}},
             %{attempt: 2, status: 200, error_kind: nil}
           ] = Enum.map(stops, &elem(&1, 1))

    assert %{registry: nil, client: "A"} = elem(one(events, [:call, :start]), 1)
  end

  test "async/3 received with a plain receive still has all its events", %{tag: tag} do
    reg = registry!(%{clients: [openai("A", scenario())]})
    %Call{ref: ref} = Switchboard.async(reg, "hi", metadata: tag)

    receive do
      {^ref, {:ok, %Response{}}} -> :ok
    end

    events = events(tag)

    assert counts(events) == %{
             [:call, :start] => 1,
             [:attempt, :start] => 1,
             [:attempt, :stop] => 1,
             [:call, :stop] => 1
           }

    assert {_, %{call_ref: ^ref}, _} = one(events, [:call, :stop])
  end

  test "stream/3: one first_token, timed from the call's and the attempt's start", %{tag: tag} do
    sc = scripted([%{content: "a b c", chunks: 3}])
    reg = registry!(%{clients: [openai("A", sc)]})

    chunks = Enum.to_list(Switchboard.stream(reg, "hi", metadata: tag))
    %Switchboard.Chunk{response: %Response{attempts: [attempt]}} = List.last(chunks)
    events = events(tag)

    assert counts(events)[[:stream, :first_token]] == 1
    {first, meta, _} = one(events, [:stream, :first_token])
    {start, _, _} = one(events, [:call, :start])
    {stop, _, _} = one(events, [:call, :stop])
    assert %{attempt: 1, client: "A", provider: "openai"} = meta
    assert first.duration >= first.attempt_duration and first.attempt_duration > 0
    assert first.monotonic_time - start.monotonic_time == first.duration
    assert first.duration <= stop.duration

    # The attempt's record has the same figures.
    assert is_integer(attempt.time_to_first_token_ms)
    assert attempt.time_to_first_token_ms <= attempt.duration_ms
    assert %DateTime{time_zone: "Etc/UTC"} = attempt.started_at
    assert DateTime.diff(DateTime.utc_now(), attempt.started_at, :second) in 0..60
  end

  test "stream_to/3 with a retried stream: a first_token per attempt that streamed",
       %{tag: tag} do
    sc = scripted([%{content: "x y", chunks: 2, error_after: 1}, %{content: "a b", chunks: 2}])

    reg =
      registry!(%{
        clients: [anthropic("A", sc, %{}, "Quick")],
        retry_policies: %{
          "Quick" => %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 10}}
        }
      })

    call = Switchboard.stream_to(reg, "hi", metadata: tag)
    assert {:ok, %Response{content: "a b"}} = Switchboard.await(call)
    events = events(tag)

    assert [1, 2] = for({_, %{attempt: n}, _} <- named(events, [:stream, :first_token]), do: n)

    assert [%{error_kind: :overloaded}, %{error_kind: nil}] =
             for({_, meta, _} <- named(events, [:attempt, :stop]), do: meta)

    assert counts(events)[[:call, :stop]] == 1
  end

  test "a call that fails: one exception event in :telemetry.span's shape", %{tag: tag} do
    sc = scripted([%{status: 400}])
    reg = registry!(%{clients: [anthropic("A", sc)]})

    assert {:error, %Error{kind: :invalid_request} = error} =
             Switchboard.call(reg, "hi", metadata: tag)

    events = events(tag)

    # In order, the start first however fast the call ended.
    assert Enum.map(events, &elem(&1, 0)) == [
             [:switchboard, :call, :start],
             [:switchboard, :attempt, :start],
             [:switchboard, :attempt, :stop],
             [:switchboard, :call, :exception]
           ]

    {start, _, _} = one(events, [:call, :start])
    {exception, meta, _} = one(events, [:call, :exception])

    assert exception.monotonic_time - start.monotonic_time == exception.duration
    assert %{kind: :error, reason: ^error, stacktrace: [], error_kind: :invalid_request} = meta
    assert %{client: "A", provider: "anthropic", status: 400} = meta
  end

  test "the call's timeout ends in one exception with error_kind :timeout", %{tag: tag} do
    sc = scripted([%{delay_ms: 10_000}])
    reg = registry!(%{clients: [openai("A", sc)]})

    assert {:error, %Error{kind: :timeout}} =
             Switchboard.call(reg, "hi", timeout: 200, metadata: tag)

    events = events(tag)
    assert counts(events)[[:call, :exception]] == 1
    refute counts(events)[[:call, :stop]]
    assert {_, %{error_kind: :timeout}, _} = one(events, [:call, :exception])
    assert {_, %{error_kind: :timeout, status: nil}, _} = one(events, [:attempt, :stop])
  end

  test "cancel/1 ends in one exception with error_kind :cancelled", %{tag: tag} do
    sc = scripted([%{delay_ms: 10_000}])
    reg = registry!(%{clients: [openai("A", sc)]})
    %Call{ref: ref} = call = Switchboard.async(reg, "hi", metadata: tag)
    assert :ok = Mock.await_outcome(mock(), sc, 0, "pending", 5_000)
    Switchboard.cancel(call)
    assert_receive {^ref, {:error, %Error{kind: :cancelled}}}, 5_000

    events = events(tag)

    assert counts(events) == %{
             [:call, :start] => 1,
             [:attempt, :start] => 1,
             [:attempt, :stop] => 1,
             [:call, :exception] => 1
           }

    assert {_, %{error_kind: :cancelled}, _} = one(events, [:call, :exception])
  end

  test "the receiver's death: the call still ends with one exception event", %{tag: tag} do
    sc = scripted([%{delay_ms: 10_000}])
    reg = registry!(%{clients: [openai("A", sc)]})
    test = self()

    pid =
      spawn(fn ->
        send(test, {:call, Switchboard.async(reg, "hi", metadata: tag)})
        Process.sleep(:infinity)
      end)

    assert_receive {:call, %Call{ref: ref}}, 5_000
    assert :ok = Mock.await_outcome(mock(), sc, 0, "pending", 5_000)
    Process.exit(pid, :kill)

    assert_receive {:event, [:switchboard, :call, :exception], _, %{call_ref: ^ref} = meta, _},
                   10_000

    assert meta.error_kind == :cancelled
    events = events(tag)
    # The start ran in the receiver before it died.
    assert counts(events) == %{
             [:call, :start] => 1,
             [:attempt, :start] => 1,
             [:attempt, :stop] => 1
           }
  end

  test "a circuit opening, its probe and its closing: one event each, told by the call that moved it",
       %{tag: tag} do
    a = scripted([%{status: 500}])

    reg =
      fallback_registry!([
        openai("A", a, %{circuit_breaker: %{failure_threshold: 1, cooldown_ms: 200}}),
        openai("B", scenario())
      ])

    assert {:ok, %Response{client: "B"}} = Switchboard.call(reg, "hi", metadata: tag)
    events = events(tag)
    assert {open, %{client: "A", registry: nil}, _} = one(events, [:circuit, :open])

    assert open.cooldown > 0 and
             open.cooldown <= System.convert_time_unit(200, :millisecond, :native)

    assert named(events, [:circuit, :close]) == []

    # While it is open, A's refusals (no HTTP, not logged) still have their
    # attempt events.
    assert {:ok, %Response{client: "B"}} = Switchboard.call(reg, "hi", metadata: tag)
    events = events(tag)

    assert [{_, %{client: "A", attempt: 1}, _}, {_, %{client: "B"}, _}] =
             named(events, [:attempt, :start])

    assert [{refused, refused_meta, _}, {_, %{client: "B", error_kind: nil}, _}] =
             named(events, [:attempt, :stop])

    assert %{client: "A", status: nil, error_kind: :circuit_open} = refused_meta
    assert is_integer(refused.duration)

    # The cooldown is wall-clock time: wait until health/1 says it is over.
    assert %{circuit: {:open, until}} = Switchboard.Registry.health(reg)["A"]
    Process.sleep(max(until - System.system_time(:millisecond), 0) + 2)

    assert {:ok, %Response{client: "A"}} = Switchboard.call(reg, "hi", metadata: tag)
    events = events(tag)
    assert {_, %{client: "A"}, _} = one(events, [:circuit, :half_open])
    assert {close, %{client: "A"}, _} = one(events, [:circuit, :close])
    assert is_integer(close.monotonic_time)
    assert named(events, [:circuit, :open]) == []
  end

  test "a handler that raises is detached and logged; the call and other handlers go on",
       %{tag: tag} do
    reg = registry!(%{clients: [openai("A", scenario())]})
    id = {__MODULE__, :raising, tag}

    raising = fn _event, _measurements, %{metadata: metadata}, _config ->
      if metadata == tag, do: raise("boom")
    end

    :ok = :telemetry.attach_many(id, @events, raising, nil)
    on_exit(fn -> :telemetry.detach(id) end)

    log =
      capture_log(fn ->
        assert {:ok, %Response{content: content}} = Switchboard.call(reg, "hi", metadata: tag)
        assert is_binary(content)
        events = events(tag)
        # The raising handler ran on the call's first event and is gone.
        assert :telemetry.list_handlers([:switchboard]) |> Enum.filter(&(&1.id == id)) == []
        send(self(), {:events, events})
      end)

    assert log =~ "has failed and has been detached"
    assert_received {:events, events}

    assert counts(events) == %{
             [:call, :start] => 1,
             [:attempt, :start] => 1,
             [:attempt, :stop] => 1,
             [:call, :stop] => 1
           }
  end

  test "with no handler attached, a call sends nothing to the dispatchers", %{tag: tag} do
    :telemetry.detach({__MODULE__, tag})
    previous = Application.get_env(:switchboard, :log)
    Application.put_env(:switchboard, :log, false)
    on_exit(fn -> restore(:log, previous) end)

    reg =
      registry!(%{
        primary: "A",
        clients: [
          openai("A", scenario()),
          anthropic("Bad", scripted([%{status: 500, repeat: -1}]))
        ]
      })

    dispatchers = for name <- Switchboard.Telemetry.dispatcher_names(), do: Process.whereis(name)
    for pid <- dispatchers, do: :erlang.trace(pid, true, [:receive])

    assert {:ok, _} = Switchboard.call(reg, "hi", metadata: tag)
    assert {:error, _} = Switchboard.call(reg, "hi", metadata: tag, client: "Bad")
    assert sent_to(dispatchers) == []

    # Logging on: only the failure is sent.
    Application.put_env(:switchboard, :log, call: :error)
    assert {:ok, _} = Switchboard.call(reg, "hi", metadata: tag)

    capture_log(fn ->
      assert {:error, _} = Switchboard.call(reg, "hi", metadata: tag, client: "Bad")
      send(self(), {:sent, sent_to(dispatchers)})
    end)

    for pid <- dispatchers, do: :erlang.trace(pid, false, [:receive])
    assert_received {:sent, sent}
    assert Enum.sort(sent) == [:attempt_stop, :exception]
  end

  test "a large metadata: option makes the call start on a dirty scheduler" do
    reg = registry!(%{clients: [openai("A", scenario())]})
    start = System.monotonic_time()
    large = {:all, self(), {nil, %{blob: String.duplicate("x", 64 * 1024)}, start}}
    small = {:all, self(), {nil, %{id: 1}, start}}
    # The caller's scheduler copies only what fits its budget.
    assert Switchboard.Native.call_start(reg.handle, "hi", %{}, self(), nil, large) == :too_large

    call = Switchboard.Native.call_start(reg.handle, "hi", %{}, self(), nil, small)
    assert is_reference(call)
    assert_receive {^call, {:ok, %Response{}}}, 5_000
  end

  # The events the dispatchers received since tracing began. The calls'
  # events were sent before their terminal messages; a round trip through
  # each dispatcher, then the trace's delivery, makes sure all of them are
  # in this mailbox.
  defp sent_to(dispatchers) do
    for name <- Switchboard.Telemetry.dispatcher_names(), do: :sys.get_state(name)

    for pid <- dispatchers do
      ref = :erlang.trace_delivered(pid)
      assert_receive {:trace_delivered, ^pid, ^ref}, 5_000
    end

    for {:trace, _pid, :receive, {:"$switchboard_event", _, _, event}} <- drain_traces([]),
        do: elem(event, 0)
  end

  test "the README's event table is the one in Switchboard.Telemetry's docs" do
    {:docs_v1, _, _, _, %{"en" => moduledoc}, _, _} = Code.fetch_docs(Switchboard.Telemetry)
    readme = File.read!(Path.expand("../README.md", __DIR__))
    rows = fn text -> for "| `[:switchboard" <> _ = row <- String.split(text, "\n"), do: row end
    assert length(rows.(moduledoc)) == length(@events)
    assert rows.(readme) == rows.(moduledoc)
  end

  defp drain_traces(acc) do
    receive do
      {:trace, _, :receive, _} = trace -> drain_traces([trace | acc])
    after
      0 -> acc
    end
  end

  defp restore(key, nil), do: Application.delete_env(:switchboard, key)
  defp restore(key, value), do: Application.put_env(:switchboard, key, value)
end
