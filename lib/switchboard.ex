defmodule Switchboard do
  @default_window 64

  @moduledoc """
  One registry of LLM clients for BEAM applications.

  Build a `Switchboard.Registry` once, then call it from any process.
  Calls run on a tokio runtime inside a NIF; the calling process only
  waits in `receive`, so no scheduler is blocked while a model thinks and
  a GenServer can keep thousands of calls in flight.

      {:ok, reg} =
        Switchboard.Registry.new(%{
          primary: "Haiku",
          clients: [%{name: "Haiku", provider: "anthropic",
                      options: %{model: "claude-haiku-4-5-20251001"}, retry_policy: "DefaultRetry"}]
        })

      {:ok, %Switchboard.Response{content: text}} = Switchboard.call(reg, "Say hi")

  ## Prompts

  A string is one user message. A list of messages is
  `[%{role: "system" | "user" | "assistant", content: String.t() | [part]}]`
  where a part is `%{type: "text", text: ...}` or
  `%{type: "image_url", image_url: %{url: ...}}`.

  ## Options

  Every call function takes the same options:

    * `:client` - a client name (or `provider/model`) to use instead of the primary
    * `:options` - a map merged last into each leaf request's body,
      e.g. `%{temperature: 0.2, max_tokens: 200}`
    * `:timeout` - total milliseconds for the whole call, retries and
      fallbacks included (default `:infinity`; each client's own timeouts still apply)
    * `:metadata` - any term; kept on the caller's side, never sent

  Streaming (`stream_to/3`, `stream/3`) also takes:

    * `:to` - the receiving process (`stream_to/3` only; default `self()`)
    * `:window` - at most this many chunk messages unacknowledged at once
      (default #{@default_window}, or `:infinity`); see `stream_to/3`

  ## Runtime

  Calls run on one tokio runtime inside the NIF, started on first use. Its
  threads do HTTP and parsing only, so they run at a lower OS priority than
  the VM: on a busy machine they give way to the BEAM's schedulers instead
  of preempting them. Both can be set before the NIF loads:

      config :switchboard, :runtime,
        worker_threads: 4,    # default: one per core
        nice_increment: 10    # default 10; 0 keeps the VM's priority

  Starting a call converts its prompt and options on the caller's
  scheduler when they are small (up to about 16 KB of text: a few
  microseconds) and on a dirty CPU scheduler when they are larger, so no
  prompt size holds a normal scheduler for long.

  ## Messages

  `async/3` sends exactly one message to the caller:
  `{ref, {:ok, %Switchboard.Response{}}}` or `{ref, {:error, %Switchboard.Error{}}}`,
  the shape a GenServer already handles for `Task.async/1` replies. That
  holds on success, failure, timeout, `cancel/1` (`:cancelled`) and internal
  errors. If the calling process dies, the call is cancelled and its HTTP
  request aborted.
  """

  alias Switchboard.{Call, Chunk, Error, Native, Registry, Response}

  @type prompt :: String.t() | [message()]
  @type message :: %{required(:role) => String.t(), required(:content) => String.t() | [map()]}
  @type option ::
          {:client, String.t()}
          | {:options, map()}
          | {:timeout, pos_integer() | :infinity}
          | {:metadata, term()}
          | {:to, pid()}
          | {:window, pos_integer() | :infinity}
  @type result :: {:ok, Response.t()} | {:error, Error.t()}

  @doc """
  Calls the registry and waits for the answer.

      {:ok, response} = Switchboard.call(reg, "What is the BEAM?", options: %{max_tokens: 200})
      response.content

  Equivalent to `reg |> async(prompt, opts) |> await()`.
  """
  @spec call(Registry.t(), prompt(), [option()]) :: result()
  def call(%Registry{} = reg, prompt, opts \\ []) do
    reg |> async(prompt, opts) |> await()
  end

  @doc """
  Like `call/3`, but returns the response or raises `Switchboard.Error`.

      %Switchboard.Response{content: text} = Switchboard.call!(reg, "Hi")
  """
  @spec call!(Registry.t(), prompt(), [option()]) :: Response.t()
  def call!(%Registry{} = reg, prompt, opts \\ []) do
    case call(reg, prompt, opts) do
      {:ok, response} -> response
      {:error, error} -> raise error
    end
  end

  @doc """
  Starts a call and returns at once. The caller later receives exactly one
  `{ref, {:ok, response} | {:error, error}}` message.

  In a GenServer:

      def handle_call({:ask, q}, from, state) do
        call = Switchboard.async(state.reg, q)
        {:noreply, put_in(state.waiting[call.ref], from)}
      end

      def handle_info({ref, result}, state) when is_map_key(state.waiting, ref) do
        {from, waiting} = Map.pop(state.waiting, ref)
        GenServer.reply(from, result)
        {:noreply, %{state | waiting: waiting}}
      end

  Invalid prompts and options arrive as `{:error, %Switchboard.Error{}}`
  messages too, so every call has exactly one outcome.
  """
  @spec async(Registry.t(), prompt(), [option()]) :: Call.t()
  def async(%Registry{} = reg, prompt, opts \\ []) when is_list(opts) do
    start(reg, prompt, opts, self(), nil)
  end

  @doc """
  Starts a streamed call. The receiver (`opts[:to]`, default the caller)
  gets, tagged with the call's `ref`:

    * zero or more `{ref, {:chunk, %Switchboard.Chunk{}}}`
    * `{ref, {:reset, %Switchboard.Attempt{}}}` when an attempt fails after
      some of its chunks were delivered (a retry or fallback follows): drop
      the text received so far
    * then exactly one `{ref, {:ok, %Switchboard.Response{}}}` or
      `{ref, {:error, %Switchboard.Error{}}}`; the response has the full text

  Back-pressure: at most `:window` (default #{@default_window}) chunk and
  reset messages are sent unacknowledged. Acknowledge handled messages with
  `ack/2`; while the receiver is a full window behind, new text is merged
  into one pending chunk, delivered on the next ack or before the final
  message. A receiver that never acks still gets the whole text in the
  final response. Pass `window: :infinity` to turn this off.

      call = Switchboard.stream_to(reg, "Tell me a story")

      def loop(ref, call) do
        receive do
          {^ref, {:chunk, chunk}} -> IO.write(chunk.text); Switchboard.ack(call); loop(ref, call)
          {^ref, {:reset, _attempt}} -> Switchboard.ack(call); IO.puts("\n[retrying]"); loop(ref, call)
          {^ref, result} -> result
        end
      end

  Streaming follows the same retry, fallback and timeout rules as `async/3`,
  plus each leaf's `time_to_first_token_timeout_ms` and `idle_timeout_ms`.
  """
  @spec stream_to(Registry.t(), prompt(), [option()]) :: Call.t()
  def stream_to(%Registry{} = reg, prompt, opts \\ []) when is_list(opts) do
    {to, opts} = Keyword.pop(opts, :to, self())
    {window, opts} = Keyword.pop(opts, :window, @default_window)

    unless window == :infinity or (is_integer(window) and window > 0) do
      raise ArgumentError,
            "window must be a positive integer or :infinity, got: #{inspect(window)}"
    end

    start(reg, prompt, opts, to, window)
  end

  @doc """
  A lazy stream of `%Switchboard.Chunk{}`. Nothing is sent until it is
  enumerated. Halting early (`Enum.take/2`, `Stream.take_while/2`, ...)
  cancels the call and aborts its HTTP request; a failure raises
  `Switchboard.Error` from the enumeration.

  The last chunk has `text: ""` and `response: %Switchboard.Response{}`,
  which carries the full text, finish reason and usage:

      stream = Switchboard.stream(reg, "Tell me a story")
      for chunk <- stream, do: IO.write(chunk.text)

      %Switchboard.Chunk{response: response} = stream |> Enum.to_list() |> List.last()
      response.usage

  If an attempt fails after yielding chunks and a retry or fallback
  answers, the next chunks carry a different `attempt`: the text of earlier
  attempts is void: code that concatenates chunks should start over when
  `attempt` changes, or use the final `response.content`.
  Acknowledgements are sent for you; see `stream_to/3` for `:window`.
  Each enumeration starts a new call.
  """
  @spec stream(Registry.t(), prompt(), [option()]) :: Enumerable.t()
  def stream(%Registry{} = reg, prompt, opts \\ []) when is_list(opts) do
    Stream.resource(
      fn -> stream_to(reg, prompt, Keyword.put(opts, :to, self())) end,
      &next_chunk/1,
      &close_stream/1
    )
  end

  @doc """
  Acknowledges `count` chunk or reset messages of a `stream_to/3` call,
  making room in its window.

      Switchboard.ack(call)
  """
  @spec ack(Call.t(), pos_integer()) :: :ok
  def ack(%Call{handle: handle}, count \\ 1) when is_integer(count) and count > 0 do
    Native.call_ack(handle, count)
  end

  # Small arguments are decoded on this scheduler; `call_start/6` turns
  # larger ones away untouched and they go to a dirty scheduler.
  defp start(%Registry{handle: registry}, prompt, opts, receiver, window) do
    opts = opts |> Keyword.delete(:metadata) |> Map.new()

    handle =
      case Native.call_start(registry, prompt, opts, receiver, window) do
        :too_large -> Native.call_start_dirty(registry, prompt, opts, receiver, window)
        handle -> handle
      end

    # The handle is a reference, unique to the call, and the NIF tags every
    # message with it: keeping it costs the call nothing.
    %Call{ref: handle, handle: handle}
  end

  defp next_chunk({:done, _} = state), do: {:halt, state}

  defp next_chunk(%Call{ref: ref} = call) do
    receive do
      {^ref, {:chunk, %Chunk{} = chunk}} ->
        ack(call)
        {[chunk], call}

      {^ref, {:reset, _attempt}} ->
        ack(call)
        next_chunk(call)

      {^ref, {:ok, %Response{} = response}} ->
        final = %Chunk{
          text: "",
          client: response.client,
          attempt: length(response.attempts),
          response: response
        }

        {[final], {:done, call}}

      {^ref, {:error, %Error{} = error}} ->
        {:halt, {:done, error}}
    end
  end

  # The call ended: raise its error, if any, once the stream has closed.
  defp close_stream({:done, %Error{} = error}), do: raise(error)
  defp close_stream({:done, _call}), do: :ok

  # Halted early: cancel, then consume what the call still sends, so no
  # message of it is left in the caller's mailbox.
  defp close_stream(%Call{ref: ref} = call) do
    cancel(call)
    drain(ref)
  end

  defp drain(ref) do
    receive do
      {^ref, {tag, _}} when tag in [:chunk, :reset] -> drain(ref)
      {^ref, _terminal} -> :ok
    after
      5_000 -> :ok
    end
  end

  @doc """
  Waits for the answer of a call started by `async/3` in this process.

  On timeout the call is cancelled and `{:error, %Switchboard.Error{kind: :timeout}}`
  is returned; its message is consumed, so none arrives later.

      call = Switchboard.async(reg, "Hi")
      {:ok, response} = Switchboard.await(call, 30_000)
  """
  @spec await(Call.t(), timeout()) :: result()
  def await(%Call{ref: ref} = call, timeout \\ :infinity) do
    receive do
      {^ref, result} -> result
    after
      timeout ->
        cancel(call)

        receive do
          {^ref, {:error, %Error{kind: :cancelled}}} ->
            {:error,
             %Error{
               kind: :timeout,
               message: "await/2 gave up after #{timeout} ms; call cancelled"
             }}

          {^ref, result} ->
            result
        end
    end
  end

  @doc """
  Cancels a call: its HTTP request is aborted and the receiver gets
  `{ref, {:error, %Switchboard.Error{kind: :cancelled}}}`, unless the call
  had already finished, in which case its real result stays the only message.

      call = Switchboard.async(reg, "Write a long story")
      :ok = Switchboard.cancel(call)
  """
  @spec cancel(Call.t()) :: :ok
  def cancel(%Call{handle: handle}) do
    Native.call_cancel(handle)
  end
end
