defmodule Switchboard.StreamTest do
  use Switchboard.Case, async: true

  alias Switchboard.Chunk

  # The chunks already in the mailbox, acking each.
  defp collect_queued(%Call{ref: ref} = call, acc \\ []) do
    receive do
      {^ref, {:chunk, %Chunk{} = chunk}} ->
        Switchboard.ack(call)
        collect_queued(call, [{:chunk, chunk} | acc])
    after
      0 -> Enum.reverse(acc)
    end
  end

  # Receives chunks (acking each) until `length` more characters arrived.
  defp receive_text(%Call{ref: ref} = call, length, acc \\ "") do
    if String.length(acc) >= length do
      acc
    else
      receive do
        {^ref, {:chunk, %Chunk{text: text}}} ->
          Switchboard.ack(call)
          receive_text(call, length, acc <> text)
      after
        5_000 -> flunk("got #{inspect(acc)}, expected #{length} characters")
      end
    end
  end

  for {provider, builder} <- [{"openai", :openai}, {"anthropic", :anthropic}] do
    test "#{provider}: chunks in order, final text is their concatenation, usage and finish reason" do
      words = for i <- 1..30, do: "w#{i} "
      content = Enum.join(words)

      sc =
        scripted([
          %{
            content: content,
            chunks: 30,
            finish_reason: "length",
            usage: %{input_tokens: 21, output_tokens: 30, cached_input_tokens: 5}
          }
        ])

      reg = registry!(%{clients: [unquote(builder)("C", sc)]})
      call = Switchboard.stream_to(reg, "count")
      {messages, result} = collect(call)

      assert {:ok, %Response{} = resp} = result
      # Deltas that arrive in one network read come as one chunk.
      assert length(messages) in 1..30
      assert Enum.all?(messages, fn {:chunk, c} -> c.text != "" end)
      assert Enum.all?(messages, fn {:chunk, c} -> c.client == "C" and c.attempt == 1 end)
      assert text(messages) == resp.content and resp.content == content
      assert resp.finish_reason == "length"
      # Anthropic's input_tokens leaves out cache reads; ours counts them.
      input = if resp.provider == "anthropic", do: 21 + 5, else: 21
      assert resp.usage.input_tokens == input and resp.usage.output_tokens == 30
      assert resp.usage.cached_input_tokens == 5
      assert [req] = requests(sc)
      assert req["json"]["stream"] == true
    end
  end

  test "OpenAI asks for the usage chunk; openai-generic does not" do
    [a, b] = [scenario(), scenario()]

    reg =
      registry!(%{
        clients: [
          openai("O", a),
          %{
            name: "G",
            provider: "openai-generic",
            options: %{base_url: Mock.base_url(mock(), b, "openai-generic")}
          }
        ]
      })

    assert [_ | _] = Enum.to_list(Switchboard.stream(reg, "hi", client: "O"))
    assert [_ | _] = Enum.to_list(Switchboard.stream(reg, "hi", client: "G"))
    assert hd(requests(a))["json"]["stream_options"] == %{"include_usage" => true}
    refute Map.has_key?(hd(requests(b))["json"], "stream_options")
  end

  test "deltas that arrive apart are delivered apart" do
    # 300 ms apart: a client would have to stall over a second to read them
    # all at once, so on a loaded machine two may merge but not all five.
    sc = scripted([%{content: "a b c d e", chunks: 5, chunk_delay_ms: 300}])
    reg = registry!(%{clients: [openai("C", sc)]})
    {messages, {:ok, _}} = collect(Switchboard.stream_to(reg, "hi"))
    texts = Enum.map(messages, fn {:chunk, c} -> c.text end)
    assert Enum.join(texts) == "a b c d e"
    assert length(texts) >= 2
  end

  test "stream/3 is lazy, yields chunks and ends with the response, once per enumeration" do
    sc = scripted([%{content: "a b c", chunks: 3, chunk_delay_ms: 20, repeat: 2}])
    reg = registry!(%{clients: [anthropic("C", sc)]})
    stream = Switchboard.stream(reg, "hi")
    # Building the stream sent nothing: no message, no request.
    refute_received _
    assert requests(sc) == []

    chunks = Enum.to_list(stream)
    assert Enum.map(chunks, & &1.text) == ["a", " b", " c", ""]

    assert %Chunk{response: %Response{content: "a b c", finish_reason: "end_turn"}} =
             List.last(chunks)

    assert Enum.all?(Enum.drop(chunks, -1), &(&1.response == nil))
    refute_received _

    # Enumerating again is a new call; two enumerations, two requests.
    assert %Chunk{response: %Response{content: "a b c"}} = stream |> Enum.to_list() |> List.last()
    assert length(requests(sc)) == 2
  end

  test "stream/3 raises Switchboard.Error on failure and leaves no message behind" do
    sc = scripted([%{status: 401}])
    reg = registry!(%{clients: [openai("C", sc)]})
    assert_raise Error, ~r/auth/, fn -> Enum.to_list(Switchboard.stream(reg, "hi")) end
    refute_receive _, 100
  end

  test "multi-byte text split at every byte arrives intact" do
    content = "изве U+2028:\u2028 emoji 👋🏽 done"

    for {builder, sc} <- [
          {&openai/2, scripted([%{content: content, chunks: 6, split_bytes: 1}])},
          {&anthropic/2, scripted([%{content: content, chunks: 6, split_bytes: 1}])}
        ] do
      reg = registry!(%{clients: [builder.("C", sc)]})
      {messages, {:ok, resp}} = collect(Switchboard.stream_to(reg, "hi"))
      assert resp.content == content
      assert text(messages) == content
    end
  end

  describe "timeouts" do
    test "time_to_first_token_timeout_ms fires when the head is late" do
      sc = scripted([%{delay_ms: 2_000}])

      reg =
        registry!(%{clients: [openai("C", sc, %{http: %{time_to_first_token_timeout_ms: 200}})]})

      {micros, {[], result}} = :timer.tc(fn -> collect(Switchboard.stream_to(reg, "hi")) end)
      assert {:error, %Error{kind: :timeout, message: msg}} = result
      assert msg =~ "time_to_first_token_timeout_ms (200 ms)"
      assert div(micros, 1000) >= 190
      assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
    end

    test "time_to_first_token_timeout_ms fires when the stream opens but no text comes" do
      sc = scripted([%{chunks: 5, stall_after: 0}])

      reg =
        registry!(%{
          clients: [anthropic("C", sc, %{http: %{time_to_first_token_timeout_ms: 200}})]
        })

      assert {[], {:error, %Error{kind: :timeout, message: msg}}} =
               collect(Switchboard.stream_to(reg, "hi"))

      assert msg =~ "time_to_first_token_timeout_ms"
    end

    test "idle_timeout_ms fires on a stall, after the first chunks arrived" do
      sc = scripted([%{chunks: 10, stall_after: 3}])
      reg = registry!(%{clients: [openai("C", sc, %{http: %{idle_timeout_ms: 200}})]})
      {messages, result} = collect(Switchboard.stream_to(reg, "hi"))
      assert {:error, %Error{kind: :timeout, message: msg}} = result
      assert msg =~ "idle_timeout_ms (200 ms)"
      assert length(messages) >= 1
      assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
    end

    test "neither fires while data keeps flowing" do
      # 20 chunks 100 ms apart: 2 s in all, far past both limits, each gap
      # well under them, even on a busy machine.
      sc = scripted([%{chunks: 20, chunk_delay_ms: 100}])

      reg =
        registry!(%{
          clients: [
            anthropic("C", sc, %{
              http: %{time_to_first_token_timeout_ms: 1_000, idle_timeout_ms: 1_000}
            })
          ]
        })

      {messages, result} = collect(Switchboard.stream_to(reg, "hi"))
      assert {:ok, %Response{}} = result
      assert length(messages) == 20
    end

    test "request_timeout_ms still bounds the whole stream" do
      # 2 s of chunks 100 ms apart: the idle timeout never fires, the
      # request timeout does.
      sc = scripted([%{chunks: 20, chunk_delay_ms: 100}])

      reg =
        registry!(%{
          clients: [openai("C", sc, %{http: %{request_timeout_ms: 800, idle_timeout_ms: 1_500}})]
        })

      assert {_, {:error, %Error{kind: :timeout, message: msg}}} =
               collect(Switchboard.stream_to(reg, "hi"))

      assert msg =~ "request_timeout_ms (800 ms)"
    end

    test "the call's timeout: bounds a stream" do
      sc = scripted([%{chunks: 20, chunk_delay_ms: 100}])
      reg = registry!(%{clients: [anthropic("C", sc)]})

      assert {_, {:error, %Error{kind: :timeout, message: msg}}} =
               collect(Switchboard.stream_to(reg, "hi", timeout: 400))

      assert msg =~ "total timeout (400 ms)"
    end
  end

  describe "failures mid-stream and the reset rule" do
    test "a retry after delivered chunks is announced by a reset, and chunks carry their attempt" do
      sc =
        scripted([
          %{content: "bad bad bad bad", chunks: 4, error_after: 2},
          %{content: "good answer", chunks: 2}
        ])

      reg =
        registry!(%{
          clients: [anthropic("C", sc, %{}, "Quick")],
          retry_policies: %{
            "Quick" => %{max_retries: 2, strategy: %{type: "constant_delay", delay_ms: 10}}
          }
        })

      {messages, result} = collect(Switchboard.stream_to(reg, "hi"))
      assert {:ok, %Response{content: "good answer"} = resp} = result

      assert [
               {:chunk, %Chunk{attempt: 1}} | _
             ] = messages

      {before, [{:reset, failed} | later]} = Enum.split_while(messages, &match?({:chunk, _}, &1))
      assert text(before) == "bad bad"
      assert %Attempt{client: "C", status: 200, error: %Error{kind: :overloaded}} = failed
      assert Enum.all?(later, &match?({:chunk, %Chunk{attempt: 2}}, &1))
      assert text(later) == "good answer"

      assert [%Attempt{error: %Error{kind: :overloaded}}, %Attempt{status: 200, error: nil}] =
               resp.attempts
    end

    test "a truncated stream is a network error and the fallback takes over after a reset" do
      a = scripted([%{content: "one two three four", chunks: 4, truncate_after: 2}])
      b = scripted([%{content: "from B", chunks: 2}])

      reg = fallback_registry!([openai("A", a), anthropic("B", b)])

      {messages, {:ok, resp}} = collect(Switchboard.stream_to(reg, "hi"))
      assert [{:chunk, %Chunk{client: "A", attempt: 1}} | _] = messages

      assert {:reset, %Attempt{client: "A", error: %Error{kind: :network}}} =
               Enum.find(messages, &match?({:reset, _}, &1))

      assert resp.client == "B" and resp.content == "from B"

      assert [{:chunk, %Chunk{client: "B", attempt: 2}} | _] =
               Enum.drop_while(messages, &(not match?({:reset, _}, &1))) |> tl()
    end

    test "a failure before any chunk needs no reset" do
      sc = scripted([%{status: 529}, %{content: "ok", chunks: 1}])
      reg = registry!(%{clients: [anthropic("C", sc, %{}, "DefaultRetry")]})
      {messages, {:ok, _}} = collect(Switchboard.stream_to(reg, "hi"))
      assert [{:chunk, %Chunk{text: "ok", attempt: 2}}] = messages
    end

    test "stream/3 surfaces a retry as a change of attempt" do
      sc =
        scripted([
          %{content: "x y", chunks: 2, error_after: 1, chunk_delay_ms: 20},
          %{content: "z", chunks: 1}
        ])

      reg = registry!(%{clients: [anthropic("C", sc, %{}, "DefaultRetry")]})
      chunks = Enum.to_list(Switchboard.stream(reg, "hi"))
      assert [{1, "x"}, {2, "z"}, {2, ""}] = Enum.map(chunks, &{&1.attempt, &1.text})
      assert List.last(chunks).response.content == "z"
    end

    test "an error event that is not retried ends the call with its kind" do
      sc = scripted([%{chunks: 5, error_after: 1, error_type: "invalid_request_error"}])
      reg = registry!(%{clients: [anthropic("C", sc, %{}, "DefaultRetry")]})
      {_messages, result} = collect(Switchboard.stream_to(reg, "hi"))
      assert {:error, %Error{kind: :invalid_request, attempts: [_]}} = result
    end
  end

  describe "cancellation" do
    test "Enum.take/2 on a 1,000-chunk stream cancels the request" do
      sc = scripted([%{chunks: 1_000, chunk_delay_ms: 5}])
      reg = registry!(%{clients: [openai("C", sc)]})
      chunks = reg |> Switchboard.stream("hi") |> Enum.take(5)
      assert length(chunks) == 5
      assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
      refute_receive _, 100
    end

    test "killing the receiver mid-stream cancels the request" do
      sc = scripted([%{chunks: 1_000, chunk_delay_ms: 5}])
      reg = registry!(%{clients: [anthropic("C", sc)]})
      test = self()

      pid =
        spawn(fn ->
          call = Switchboard.stream_to(reg, "hi")
          ref = call.ref
          receive do: ({^ref, {:chunk, _}} -> send(test, :streaming))
          Process.sleep(:infinity)
        end)

      assert_receive :streaming, 5_000
      Process.exit(pid, :kill)
      assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
    end

    test "stream_to/3 to another process" do
      sc = scripted([%{content: "hello there", chunks: 2}])
      reg = registry!(%{clients: [openai("C", sc)]})
      parent = self()

      receiver =
        spawn(fn ->
          receive do
            {:go, call} -> send(parent, {:got, collect(call)})
          end
        end)

      call = Switchboard.stream_to(reg, "hi", to: receiver)
      send(receiver, {:go, call})
      assert_receive {:got, {messages, {:ok, %Response{content: "hello there"}}}}, 5_000
      assert text(messages) == "hello there"
    end
  end

  describe "back-pressure" do
    test "a receiver asleep while 10,000 chunks arrive holds at most window + 1 chunk messages" do
      sc = scripted([%{chunks: 10_000}])
      reg = registry!(%{clients: [openai("C", sc)]})
      parent = self()

      receiver =
        spawn(fn ->
          receive do
            {:go, %Call{ref: ref} = call} ->
              # Handle nothing until the call has ended: its terminal message
              # comes after every chunk it sent.
              receive do
                {^ref, {tag, _} = result} when tag in [:ok, :error] ->
                  {:message_queue_len, queued} = Process.info(self(), :message_queue_len)
                  {:memory, memory} = Process.info(self(), :memory)
                  send(parent, {:asleep, queued, memory, {collect_queued(call), result}})
              after
                15_000 -> send(parent, :no_terminal_message)
              end
          end
        end)

      call = Switchboard.stream_to(reg, "hi", to: receiver, window: 16)
      send(receiver, {:go, call})
      assert_receive {:asleep, queued, memory, {messages, {:ok, resp}}}, 15_000

      # 16 chunks and at most 1 merged chunk.
      assert queued <= 17, "#{queued} messages queued"
      assert memory < 200_000, "receiver holds #{memory} bytes"
      assert length(resp.content |> String.split()) == 10_000
      # Nothing lost: the merged chunks still add up to the whole answer.
      assert text(messages) == resp.content
      assert length(messages) < 10_000
    end

    test "text held back by a full window is delivered on ack, even while the provider is silent" do
      sc = scripted([%{content: "one two three", chunks: 3, chunk_delay_ms: 100, stall_after: 3}])
      reg = registry!(%{clients: [openai("C", sc)]})
      %Call{ref: ref} = call = Switchboard.stream_to(reg, "hi", window: 1)

      assert_receive {^ref, {:chunk, %Chunk{text: first}}}, 5_000
      # Without an ack, the next deltas wait, merged, behind the window.
      refute_receive {^ref, {:chunk, _}}, 500
      Switchboard.ack(call)
      # The provider has stalled; only acks can release them.
      rest = receive_text(call, String.length("one two three") - String.length(first))
      assert rest != ""
      assert first <> rest == "one two three"
      Switchboard.cancel(call)
      assert_receive {^ref, {:error, %Error{kind: :cancelled}}}, 5_000
    end

    test "window: :infinity sends every delta" do
      sc = scripted([%{chunks: 300}])
      reg = registry!(%{clients: [anthropic("C", sc)]})
      {messages, {:ok, _}} = collect(Switchboard.stream_to(reg, "hi", window: :infinity))
      assert length(messages) == 300
    end

    test "an invalid window is an ArgumentError" do
      reg = registry!(%{clients: [openai("C", scenario())]})
      assert_raise ArgumentError, fn -> Switchboard.stream_to(reg, "hi", window: 0) end
    end
  end

  test "a client with supports_streaming: false answers a stream in one chunk" do
    sc = scripted([%{content: "all at once"}])
    reg = registry!(%{clients: [openai("C", sc, %{supports_streaming: false})]})
    {messages, {:ok, resp}} = collect(Switchboard.stream_to(reg, "hi"))
    assert [{:chunk, %Chunk{text: "all at once"}}] = messages
    assert resp.content == "all at once"
    refute Map.has_key?(hd(requests(sc))["json"], "stream")
  end
end
