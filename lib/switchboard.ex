defmodule Switchboard do
  @default_window 64

  @moduledoc """
  One registry of LLM clients for BEAM applications.

  Start a `Switchboard.Registry` under your supervisor (or build one with
  `Switchboard.Registry.new/1`), then call it from any process, by name or
  by handle. Calls run on a tokio runtime inside a NIF; the calling process
  only waits in `receive`, so no scheduler is blocked while a model thinks
  and a GenServer can keep thousands of calls in flight.

      children = [
        {Switchboard.Registry,
         name: MyApp.LLM,
         client_registry: %{
           primary: "Haiku",
           clients: [%{name: "Haiku", provider: "anthropic",
                       options: %{model: "claude-haiku-4-5-20251001"}, retry_policy: "DefaultRetry"}]
         }}
      ]

      {:ok, %Switchboard.Response{content: text}} = Switchboard.call(MyApp.LLM, "Say hi")

  Every function here takes a registry's name or a `%Switchboard.Registry{}`
  handle as its first argument.

  ## Prompts

  A string is one user message. A list of messages is
  `[%{role: "system" | "user" | "assistant" | "tool", content: String.t() | [part]}]`
  where a part is one of:

    * `%{type: "text", text: ...}`
    * `%{type: "image", url: "https://...", media_type: "image/png"}`
      (`media_type` optional) or
      `%{type: "image", data: base64, media_type: "image/png"}` (user messages)
    * `%{type: "image_url", image_url: %{url: ...}}` (OpenAI's form; a
      `data:` URL is inline data)
    * `%{type: "document", data: base64, media_type: "application/pdf"}` or
      `%{type: "document", url: "https://...", media_type: "application/pdf"}`
      (user messages; OpenAI chat, OpenAI Responses and Anthropic take
      only PDFs, Bedrock other document types too)

  What a client does with a media URL (send it, or fetch it and send the
  bytes) is its `media_url_handler` option: see the README's "Media parts".
  A provider that cannot take a part fails the call with `:invalid_request`
  before anything is sent.

  Tool-calling turns: an assistant message carries the calls it made as
  `tool_calls:` (the `Switchboard.ToolCall`s of a response; its `content`
  may be `""` or `nil`), and each result is
  `%{role: "tool", tool_call_id: id, content: result}` where `result` is a
  string or a map (sent as JSON). `name:` on a tool message is optional:
  it is found from the call. Switchboard turns these into each provider's
  own form, so the history of a conversation can go to any provider:

      {:ok, %{tool_calls: [call]} = first} =
        Switchboard.call(reg, "What is the run queue?", tools: tools)

      history = [
        %{role: "user", content: "What is the run queue?"},
        %{role: "assistant", content: first.content, tool_calls: first.tool_calls},
        %{role: "tool", tool_call_id: call.id, content: %{"run_queue" => 0}}
      ]

      {:ok, final} = Switchboard.call(reg, history, tools: tools)

  Each client sends the roles of a prompt as its `allowed_roles`,
  `default_role` and `remap_roles` options say (BAML's role selection; see
  the README, "Roles and prompt caching"). A message may also carry
  metadata beside `role` and `content`, or in a `metadata:` map, such as
  Anthropic's prompt-caching breakpoint:

      [%{role: "system", content: manual, cache_control: %{type: "ephemeral"}},
       %{role: "user", content: "What does chapter 3 say?"}]

  Only the keys the client's `allowed_role_metadata` allows (none by
  default) are sent, in each provider's own form: on the last content block
  on Anthropic and Claude on Vertex, a `cachePoint` block on Bedrock;
  providers without such a field drop them.

  ## Options

  This is the one place the call options are documented. Each function
  accepts only its own:

  | option      | `call/3`, `call!/3`, `async/3` | `stream_to/3` | `stream/3` |
  |-------------|:------------------------------:|:-------------:|:----------:|
  | `:client`   | yes                            | yes           | yes        |
  | `:options`  | yes                            | yes           | yes        |
  | `:timeout`  | yes                            | yes           | yes        |
  | `:metadata` | yes                            | yes           | yes        |
  | `:tools`, `:tool_choice`, `:output_schema` | yes | yes     | yes        |
  | `:retry_invalid_output` | yes                | yes           | yes        |
  | `:raw_response` | yes                        | yes           | yes        |
  | `:to`       |                                | yes           |            |
  | `:window`   |                                | yes           | yes        |

    * `:client` - a client name (or `provider/model`) to use instead of the
      primary; a string
    * `:options` - a map merged last into each leaf request's body,
      e.g. `%{temperature: 0.2, max_tokens: 200}`
    * `:timeout` - total milliseconds for the whole call, retries and
      fallbacks included: a positive integer or `:infinity` (the default;
      each client's own timeouts still apply)
    * `:metadata` - any term; never sent to a provider, given to `:telemetry`
      handlers as the events' `metadata` (see `Switchboard.Telemetry`)
    * `:tools` - functions the model may call: a list of
      `%{name: String.t(), description: String.t(), parameters: json_schema}`
      (`parameters` is a JSON Schema map; it defaults to an object with no
      properties). Tool calls arrive as `Response.tool_calls`.
    * `:tool_choice` - `:auto` (the default with tools), `:none`,
      `:required` (some tool) or `{:tool, name}` (that tool)
    * `:output_schema` - a JSON Schema map the answer must match; the
      decoded answer arrives as `Response.parsed` (see "Structured output")
    * `:retry_invalid_output` - `true` lets the clients' retry policies
      repeat an attempt whose answer does not match `:output_schema`
      (default `false`: such an answer is not retried, though a fallback
      still moves on to its next client)
    * `:raw_response` - `true` keeps the provider's answer as received in
      `Response.raw`, for the fields Switchboard does not map (default
      `false`: `raw` is `nil` and nothing is copied). A whole answer is its
      body; a streamed one the stream's text as received (the `data:` lines
      of a server-sent event stream), or for Bedrock's binary event stream
      the JSON payloads of its events, one per line. At most 1 MiB is kept:
      a longer answer is cut there (at a character boundary) and ends
      with a last line `[switchboard: raw answer cut at 1 MiB]`; the call
      itself does not fail. Secrets the request carried are redacted from
      it. With fallbacks, it is the answer of the attempt that answered
    * `:to` - the process that receives the call's messages (a local pid;
      default `self()`)
    * `:window` - at most this many chunk messages unacknowledged at once:
      a positive integer or `:infinity` (default #{@default_window}); see
      `stream_to/3`

  Options are checked before anything starts. An unknown option (such as
  `:to` given to `async/3`), an option of the wrong type, a first argument
  that is neither a `Switchboard.Registry` nor a registry's name, a name no
  registry runs under, or options that are not a keyword list are
  programmer errors: they raise `ArgumentError` naming what is wrong.

      Switchboard.async(reg, "Hi", to: pid)
      ** (ArgumentError) Switchboard.async/3: unknown option :to (accepted: :client, :options, :timeout, :metadata, :tools, :tool_choice, :output_schema, :retry_invalid_output, :raw_response); :to and :window are options of stream_to/3

  What can only be judged against the registry (an unknown `client:`) or
  the provider (the prompt's shape, the contents of `options:`) arrives as
  the call's `{:error, %Switchboard.Error{}}` instead, so such a call still
  has exactly one outcome.

  ## Structured output

  With `output_schema:`, the answer is decoded and checked against that
  JSON Schema (draft 2020-12 unless it names another with `$schema`), and
  arrives as `Response.parsed`; `Response.content` keeps the text as the
  model wrote it (empty on the forced-tool providers below).

      schema = %{
        "type" => "object",
        "required" => ["healthy", "checks"],
        "properties" => %{
          "healthy" => %{"type" => "boolean"},
          "checks" => %{"type" => "array", "items" => %{"type" => "string"}}
        }
      }

      {:ok, %Switchboard.Response{parsed: %{"healthy" => true}}} =
        Switchboard.call(reg, "Is the node healthy?", output_schema: schema)

  On providers without a native JSON mode (Anthropic, Bedrock) the answer
  comes as the arguments of a forced tool call (`"json_output"`); it is
  read from there and never appears in `Response.tool_calls`, and a tool
  of the call may not have that name. A streamed call streams its text
  chunks as usual (none on those providers), and `parsed` arrives on the
  final response. With `tools:` too, an answer that calls tools is a step
  of the loop: it is not checked and its `parsed` is `nil`; the answer
  without tool calls is checked. Gemini is then not put in JSON mode (it
  refuses that beside tools), so only Switchboard's check applies.

  Decoding is lenient where models slip: a markdown code fence around the
  JSON, prose before or after it (the first complete object or array that
  decodes is taken), trailing commas, and a number or boolean sent as a
  string where the schema wants a number, integer or boolean (`"42"`
  becomes `42`, `"true"` becomes `true`; a number is never turned into a
  string).

  The schema itself is strict: a missing required field, a value of the
  wrong type or outside an `enum` (or any other failed keyword) fails the
  attempt with `%Switchboard.Error{kind: :bad_response}` whose message names
  the failing path, e.g. `/checks/0/status: missing required field`; the
  answer's text is in the error's `raw_response`. Such an attempt is not
  retried by the client's retry policy (the model would likely answer the
  same), but a fallback moves on to its next client; pass
  `retry_invalid_output: true` to let retry policies repeat it. A schema
  that is not valid JSON Schema, or that refers to anything outside
  itself, fails the call with `:invalid_request` before anything is sent.

  ## Runtime

  Calls run on one tokio runtime inside the NIF, started by the first call.
  Its settings are read when the `:switchboard` application starts, so in a
  release `config/runtime.exs` applies:

      config :switchboard, :runtime,
        worker_threads: 4,    # default: one per core
        nice_increment: 10    # default 0: the VM's own OS priority

  `nice_increment` (0 to 19) lowers the OS priority of the runtime's
  threads. Their work is HTTP and parsing, while a scheduler thread
  preempted by them stalls every process on it; raise it on a machine
  where the VM shares few cores with busy runtime threads (many streams at
  once on 2 cores, say, or the provider's server on the same machine). On
  2 cores shared with the mock server, the benchmarks saw 5 to 10 times as
  many long_schedule events with the runtime threads (and the mock) at the
  VM's priority as with `nice_increment: 10` (and the mock at nice 19).
  With cores to spare, keep 0.

  A call made before the application has started (a script that does not
  start it, say) still works: the runtime then starts with the defaults,
  and settings configured later are not applied (a warning says so).

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

  alias Switchboard.{Call, Chunk, Error, Native, Registry, Response, Telemetry}

  @type prompt :: String.t() | [message()]
  @type message :: %{
          required(:role) => String.t(),
          required(:content) => String.t() | [map()] | nil,
          optional(:metadata) => map(),
          optional(atom() | String.t()) => term()
        }
  @typedoc "An option of `call/3`, `call!/3` and `async/3`; see Options in the module docs."
  @type option ::
          {:client, String.t()}
          | {:options, map()}
          | {:timeout, pos_integer() | :infinity}
          | {:metadata, term()}
          | {:tools, [map()]}
          | {:tool_choice, :auto | :none | :required | {:tool, String.t()}}
          | {:output_schema, map()}
          | {:retry_invalid_output, boolean()}
          | {:raw_response, boolean()}
  @typedoc "An option of `stream_to/3`."
  @type stream_to_option :: option() | {:to, pid()} | {:window, pos_integer() | :infinity}
  @typedoc "An option of `stream/3`."
  @type stream_option :: option() | {:window, pos_integer() | :infinity}
  @type result :: {:ok, Response.t()} | {:error, Error.t()}

  @call_options [
    :client,
    :options,
    :timeout,
    :metadata,
    :tools,
    :tool_choice,
    :output_schema,
    :retry_invalid_output,
    :raw_response
  ]
  @stream_to_options @call_options ++ [:to, :window]
  @stream_options @call_options ++ [:window]

  @doc """
  Calls the registry and waits for the answer.

      {:ok, response} = Switchboard.call(reg, "What is the BEAM?", options: %{max_tokens: 200})
      response.content

      {:error, %Switchboard.Error{kind: :timeout}} = Switchboard.call(reg, "Hi", timeout: 1)

  Takes `:client`, `:options`, `:timeout` and `:metadata` (see Options in
  the module docs). Equivalent to `reg |> async(prompt, opts) |> await()`.
  """
  @spec call(Registry.registry(), prompt(), [option()]) :: result()
  def call(reg, prompt, opts \\ []) do
    reg |> start!(:call, prompt, opts, @call_options) |> await()
  end

  @doc """
  Like `call/3`, but returns the response or raises `Switchboard.Error`.

      %Switchboard.Response{content: text} = Switchboard.call!(reg, "Hi")

  Takes the options of `call/3`.
  """
  @spec call!(Registry.registry(), prompt(), [option()]) :: Response.t()
  def call!(reg, prompt, opts \\ []) do
    case reg |> start!(:call!, prompt, opts, @call_options) |> await() do
      {:ok, response} -> response
      {:error, error} -> raise error
    end
  end

  @doc """
  Starts a call and returns at once. The caller later receives exactly one
  `{ref, {:ok, response} | {:error, error}}` message.

  Takes `:client`, `:options`, `:timeout` and `:metadata` (see Options in
  the module docs); for another receiver or a streamed answer use
  `stream_to/3`.

      call = Switchboard.async(reg, "Hi", timeout: 30_000)
      {:ok, response} = Switchboard.await(call)

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

  Invalid prompts, an unknown `client:` and rejected `options:` arrive as
  `{:error, %Switchboard.Error{}}` messages, so every call has exactly one
  outcome; invalid options raise `ArgumentError` before the call starts.
  """
  @spec async(Registry.registry(), prompt(), [option()]) :: Call.t()
  def async(reg, prompt, opts \\ []) do
    start!(reg, :async, prompt, opts, @call_options)
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

  Takes the options of `async/3` plus `:to` and `:window` (see Options in
  the module docs).

  Back-pressure: at most `:window` (default #{@default_window}) chunk and
  reset messages are sent unacknowledged. Acknowledge handled messages with
  `ack/2`, given the call or just the `ref` the messages carry; while the
  receiver is a full window behind, new text is merged into one pending
  chunk, delivered on the next ack or before the final message. A receiver
  that never acks still gets the whole text in the final response. Pass
  `window: :infinity` to turn this off.

      call = Switchboard.stream_to(reg, "Tell me a story")

      def loop(ref) do
        receive do
          {^ref, {:chunk, chunk}} -> IO.write(chunk.text); Switchboard.ack(ref); loop(ref)
          {^ref, {:reset, _attempt}} -> Switchboard.ack(ref); IO.puts("\\n[retrying]"); loop(ref)
          {^ref, result} -> result
        end
      end

      loop(call.ref)

  The receiver needs nothing from the caller: a LiveView (or any process)
  given as `:to` acknowledges with the `ref` of the messages it gets.

      # in the LiveView
      def handle_event("ask", %{"q" => q}, socket) do
        call = Switchboard.stream_to(MyApp.LLM, q, to: self())
        {:noreply, assign(socket, call: call.ref, answer: "")}
      end

      def handle_info({ref, {:chunk, chunk}}, socket) do
        Switchboard.ack(ref)
        {:noreply, update(socket, :answer, &(&1 <> chunk.text))}
      end

      def handle_info({ref, {:reset, _attempt}}, socket) do
        Switchboard.ack(ref)
        {:noreply, assign(socket, answer: "")}
      end

      def handle_info({ref, {:ok, response}}, socket) when ref == socket.assigns.call do
        {:noreply, assign(socket, answer: response.content, call: nil)}
      end

  The work may also be started elsewhere (a GenServer that owns the
  registry, a Task) with `to:` the LiveView's pid: the LiveView receives and
  acknowledges exactly as above.

  The receiver may also just `await/2` the call: it consumes (and
  acknowledges) the chunks and returns the final result.

  Streaming follows the same retry, fallback and timeout rules as `async/3`,
  plus each leaf's `time_to_first_token_timeout_ms` and `idle_timeout_ms`.
  """
  @spec stream_to(Registry.registry(), prompt(), [stream_to_option()]) :: Call.t()
  def stream_to(reg, prompt, opts \\ []) do
    start!(reg, :stream_to, prompt, opts, @stream_to_options)
  end

  @doc """
  A lazy stream of `%Switchboard.Chunk{}`. Nothing is sent until it is
  enumerated. Halting early (`Enum.take/2`, `Stream.take_while/2`, ...)
  cancels the call and aborts its HTTP request; a failure raises
  `Switchboard.Error` from the enumeration.

  Takes the options of `async/3` plus `:window` (see Options in the module
  docs); they are checked when `stream/3` is called, not when the stream
  runs.

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
  @spec stream(Registry.registry(), prompt(), [stream_option()]) :: Enumerable.t()
  def stream(reg, prompt, opts \\ []) do
    check!(:stream, reg, opts, @stream_options)

    Stream.resource(
      fn -> start(:stream, reg, prompt, Keyword.put(opts, :to, self()), true) end,
      &next_chunk/1,
      &close_stream/1
    )
  end

  @doc """
  Acknowledges `count` chunk or reset messages of a `stream_to/3` call,
  making room in its window. Takes the call, or the `ref` its messages
  carry, so a receiver that did not start the call can acknowledge:

      Switchboard.ack(call)

      receive do
        {ref, {:chunk, chunk}} -> IO.write(chunk.text); Switchboard.ack(ref)
      end
  """
  @spec ack(Call.t() | reference(), pos_integer()) :: :ok
  def ack(call, count \\ 1)

  def ack(%Call{handle: handle}, count), do: ack(handle, count)

  def ack(ref, count) when is_reference(ref) and is_integer(count) and count > 0 do
    Native.call_ack(ref, count)
  rescue
    ArgumentError -> reraise ArgumentError, not_a_call(:ack, ref), __STACKTRACE__
  end

  defp start!(reg, fun, prompt, opts, accepted) do
    check!(fun, reg, opts, accepted)
    start(fun, reg, prompt, opts, fun == :stream_to)
  end

  # `opts` are checked. For a key given twice, the first value counts, as
  # with `Keyword.get/2`. Small arguments are decoded on this scheduler;
  # `call_start/5` turns larger ones away untouched and they go to a dirty
  # scheduler.
  defp start(fun, reg, prompt, opts, streamed?) do
    %Registry{handle: registry} = named = Registry.fetch!(reg, "Switchboard.#{fun}/3")
    receiver = Keyword.get(opts, :to, self())
    window = if streamed?, do: Keyword.get(opts, :window, @default_window)

    request =
      for key <- [
            :client,
            :options,
            :timeout,
            :tools,
            :tool_choice,
            :output_schema,
            :retry_invalid_output,
            :raw_response
          ],
          Keyword.has_key?(opts, key),
          into: %{} do
        {key, native_option(key, Keyword.get(opts, key))}
      end

    observe = Telemetry.observe(named, opts)

    handle =
      case Native.call_start(registry, prompt, request, receiver, window, observe) do
        :too_large ->
          Native.call_start_dirty(registry, prompt, request, receiver, window, observe)

        handle ->
          handle
      end

    # The handle is a reference, unique to the call, and the NIF tags every
    # message with it: keeping it costs the call nothing.
    %Call{ref: handle, handle: handle, owner: receiver}
  end

  # The NIF reads no tuples: `{:tool, name}` travels as a map.
  defp native_option(:tool_choice, {:tool, name}), do: %{"tool" => name}
  defp native_option(_key, value), do: value

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
  # message of it is left in the caller's mailbox. Its terminal message
  # was not received yet, so it comes.
  defp close_stream(%Call{} = call) do
    cancel(call)
    {:ok, _result} = receive_result(call, :infinity)
    :ok
  end

  @doc """
  Waits for the result of a call and returns it: `{:ok, response}` or
  `{:error, error}`.

      call = Switchboard.async(reg, "Hi")
      {:ok, response} = Switchboard.await(call, 30_000)

  Only the call's receiver can await it: the process that called `async/3`
  or `stream_to/3`, or the `:to` process of `stream_to/3`. The result is
  returned once; `await/2` never waits for a message that cannot come:

    * with a finite `timeout` (milliseconds) that passes first, the call is
      cancelled and `{:error, %Switchboard.Error{kind: :timeout}}` is
      returned (or its real result, had it just finished); its terminal
      message is consumed, so none arrives later
    * on a streamed call (`stream_to/3`) the chunk and reset messages are
      consumed and acknowledged: the result is the final response, which
      has the whole text, never a chunk

  Programmer errors raise `ArgumentError` at once, before any wait:

    * awaiting from a process other than the receiver (its messages go to
      the receiver's mailbox)
    * awaiting a call whose result was already received: `await/2` called
      twice, or the `{ref, result}` message taken by a plain `receive`
    * a `timeout` that is neither a non-negative integer nor `:infinity`

  For example:

      call = Switchboard.async(reg, "Hi")
      {:ok, _} = Switchboard.await(call)
      Switchboard.await(call)
      ** (ArgumentError) Switchboard.await/2: the result of this call was already received ...

      call = Switchboard.stream_to(reg, "Tell me a story")
      {:ok, %Switchboard.Response{content: story}} = Switchboard.await(call)
  """
  @spec await(Call.t(), timeout()) :: result()
  def await(%Call{} = call, timeout \\ :infinity) do
    unless timeout == :infinity or (is_integer(timeout) and timeout >= 0) do
      raise ArgumentError,
            "Switchboard.await/2: timeout must be a non-negative integer (milliseconds) " <>
              "or :infinity, got: #{describe(timeout)}"
    end

    if call.owner != self() do
      raise ArgumentError,
            "Switchboard.await/2: only the call's receiver #{inspect(call.owner)} can await it " <>
              "(its messages go to that process's mailbox), not #{inspect(self())}"
    end

    settle(call, timeout)
  end

  # The mailbox first, then where the NIF says the terminal message is:
  # still to be sent (it will come, and only this process can take it:
  # wait), sent (it is in the mailbox now, or was taken before), or being
  # sent right now (look again shortly).
  defp settle(call, timeout) do
    with :timeout <- receive_result(call, :now) do
      case Native.call_state(call.handle) do
        :running ->
          wait(call, timeout)

        :sent ->
          case receive_result(call, :now) do
            {:ok, result} -> result
            :timeout -> raise ArgumentError, already_received()
          end

        :sending ->
          case receive_result(call, now() + 1) do
            {:ok, result} -> result
            :timeout -> settle(call, timeout)
          end
      end
    else
      {:ok, result} -> result
    end
  end

  defp already_received do
    "Switchboard.await/2: the result of this call was already received " <>
      "(await/2 called twice, or its {ref, result} message taken by a receive)"
  end

  # The terminal message is still to come, and only this process can take it.
  defp wait(call, timeout) do
    deadline = if timeout == :infinity, do: :infinity, else: now() + timeout

    case receive_result(call, deadline) do
      {:ok, result} ->
        result

      :timeout ->
        cancel(call)

        case receive_result(call, :infinity) do
          {:ok, {:error, %Error{kind: :cancelled}}} ->
            {:error,
             %Error{
               kind: :timeout,
               message: "await/2 gave up after #{timeout} ms; call cancelled"
             }}

          {:ok, result} ->
            result
        end
    end
  end

  # Takes the call's terminal message, consuming (and acknowledging) chunk
  # and reset messages on the way; `:timeout` at `deadline` (a monotonic
  # time in ms, `:now` to only look, or `:infinity`).
  defp receive_result(%Call{ref: ref} = call, deadline) do
    receive do
      {^ref, {tag, _}} when tag in [:chunk, :reset] ->
        ack(call)
        receive_result(call, deadline)

      {^ref, {tag, _} = result} when tag in [:ok, :error] ->
        {:ok, result}
    after
      remaining(deadline) -> :timeout
    end
  end

  defp remaining(:infinity), do: :infinity
  defp remaining(:now), do: 0
  defp remaining(deadline), do: max(deadline - now(), 0)

  defp now, do: System.monotonic_time(:millisecond)

  @doc """
  Cancels a call, given the call or the `ref` its messages carry: its HTTP
  request is aborted and the receiver gets
  `{ref, {:error, %Switchboard.Error{kind: :cancelled}}}`, unless the call
  had already finished, in which case its real result stays the only message.

      call = Switchboard.async(reg, "Write a long story")
      :ok = Switchboard.cancel(call)
  """
  @spec cancel(Call.t() | reference()) :: :ok
  def cancel(%Call{handle: handle}), do: cancel(handle)

  def cancel(ref) when is_reference(ref) do
    Native.call_cancel(ref)
  rescue
    ArgumentError -> reraise ArgumentError, not_a_call(:cancel, ref), __STACKTRACE__
  end

  defp not_a_call(fun, ref) do
    "Switchboard.#{fun}: #{inspect(ref)} is not the ref of a Switchboard call " <>
      "(the first element of its messages, or the :ref of its %Switchboard.Call{})"
  end

  # --- options: programmer errors raise before anything starts -------------

  defp check!(fun, reg, opts, accepted) do
    name = "Switchboard.#{fun}/3"

    unless match?(%Registry{}, reg) or (is_atom(reg) and reg not in [nil, true, false]) do
      raise ArgumentError,
            "#{name}: the first argument must be a Switchboard.Registry " <>
              "(from Switchboard.Registry.new/1) or a registry's name, got: #{describe(reg)}"
    end

    unless is_list(opts) do
      raise ArgumentError, "#{name}: options must be a keyword list, got: #{describe(opts)}"
    end

    Enum.each(opts, fn
      {key, value} when is_atom(key) ->
        if key in accepted do
          check_option!(name, key, value)
        else
          raise ArgumentError, unknown_option(name, key, accepted)
        end

      other ->
        raise ArgumentError,
              "#{name}: options must be a keyword list, found the element #{describe(other)}"
    end)
  end

  defp unknown_option(name, key, accepted) do
    accepted_text = Enum.map_join(accepted, ", ", &inspect/1)

    hint =
      if key in [:to, :window] and :to not in accepted,
        do: "; :to and :window are options of stream_to/3",
        else: ""

    "#{name}: unknown option #{inspect(key)} (accepted: #{accepted_text})#{hint}"
  end

  defp check_option!(_name, :client, client) when is_binary(client), do: :ok
  defp check_option!(_name, :options, options) when is_map(options), do: :ok
  defp check_option!(_name, :timeout, :infinity), do: :ok
  defp check_option!(_name, :timeout, ms) when is_integer(ms) and ms > 0, do: :ok
  defp check_option!(_name, :metadata, _any), do: :ok
  defp check_option!(_name, :tools, tools) when is_list(tools), do: :ok

  defp check_option!(_name, :tool_choice, choice) when choice in [:auto, :none, :required],
    do: :ok

  defp check_option!(_name, :tool_choice, {:tool, name}) when is_binary(name), do: :ok
  defp check_option!(_name, :output_schema, schema) when is_map(schema), do: :ok
  defp check_option!(_name, :retry_invalid_output, retry) when is_boolean(retry), do: :ok
  defp check_option!(_name, :raw_response, raw) when is_boolean(raw), do: :ok
  defp check_option!(_name, :to, pid) when is_pid(pid) and node(pid) == node(), do: :ok
  defp check_option!(_name, :window, :infinity), do: :ok
  defp check_option!(_name, :window, n) when is_integer(n) and n > 0, do: :ok

  defp check_option!(name, key, value) do
    raise ArgumentError,
          "#{name}: option #{inspect(key)} #{expected(key)}, got: #{describe(value)}"
  end

  defp expected(:client), do: "must be a client name (a string)"
  defp expected(:options), do: "must be a map"
  defp expected(:timeout), do: "must be a positive integer (milliseconds) or :infinity"
  defp expected(:to), do: "must be a local pid"
  defp expected(:tools), do: "must be a list of tool maps"
  defp expected(:tool_choice), do: "must be :auto, :none, :required or {:tool, name}"
  defp expected(:output_schema), do: "must be a JSON Schema map"
  defp expected(:retry_invalid_output), do: "must be a boolean"
  defp expected(:raw_response), do: "must be a boolean"
  defp expected(:window), do: "must be a positive integer or :infinity"

  # Scalars are shown; maps, lists, tuples and strings only by their type,
  # so a config or an options map given in the wrong place does not put
  # its keys into an exception message.
  defp describe(term)
       when is_number(term) or is_atom(term) or is_pid(term) or is_reference(term) or
              is_port(term) or is_function(term),
       do: inspect(term)

  defp describe(%module{}), do: "a %#{inspect(module)}{} struct"
  defp describe(term) when is_map(term), do: "a map"
  defp describe(term) when is_list(term), do: "a list"
  defp describe(term) when is_tuple(term), do: "a tuple of #{tuple_size(term)} elements"
  defp describe(term) when is_binary(term), do: "a string of #{byte_size(term)} bytes"
  defp describe(_term), do: "a bitstring"
end
