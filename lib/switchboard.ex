defmodule Switchboard do
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

  ## Messages

  `async/3` sends exactly one message to the caller:
  `{ref, {:ok, %Switchboard.Response{}}}` or `{ref, {:error, %Switchboard.Error{}}}`,
  the shape a GenServer already handles for `Task.async/1` replies. That
  holds on success, failure, timeout, `cancel/1` (`:cancelled`) and internal
  errors. If the calling process dies, the call is cancelled and its HTTP
  request aborted.
  """

  alias Switchboard.{Call, Error, Native, Registry, Response}

  @type prompt :: String.t() | [message()]
  @type message :: %{required(:role) => String.t(), required(:content) => String.t() | [map()]}
  @type option ::
          {:client, String.t()}
          | {:options, map()}
          | {:timeout, pos_integer() | :infinity}
          | {:metadata, term()}
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
  def async(%Registry{handle: handle}, prompt, opts \\ []) when is_list(opts) do
    ref = make_ref()
    native_opts = opts |> Keyword.delete(:metadata) |> Map.new()
    %Call{ref: ref, handle: Native.call_start(handle, prompt, native_opts, ref, self())}
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
