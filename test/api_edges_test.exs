defmodule Switchboard.ApiEdgesTest do
  @moduledoc """
  `await/2` returns at once with a clear answer whatever state the call is
  in, and each call function accepts only its own options, raising
  `ArgumentError` for anything else before a call starts.
  """
  use Switchboard.Case, async: true

  alias Switchboard.Chunk

  describe "await/2" do
    test "a second await/2 raises at once: the result was already received" do
      reg = registry!(%{clients: [openai("A", scenario())]})
      call = Switchboard.async(reg, "hi")
      assert {:ok, %Response{}} = Switchboard.await(call, 5_000)

      for timeout <- [:infinity, 5_000, 0] do
        assert_raise ArgumentError, ~r/already received/, fn ->
          Switchboard.await(call, timeout)
        end
      end
    end

    test "a second await/2 raises even right after the first, while the runtime thread ends the send" do
      # Calls with an invalid prompt end at once, on a runtime thread that
      # may still be between sending the message and recording it as sent
      # when the first await/2 has returned.
      reg = registry!(%{clients: [openai("A", scenario())]})

      for _ <- 1..2_000 do
        call = Switchboard.async(reg, 42)
        assert {:error, %Error{kind: :invalid_request}} = Switchboard.await(call, 5_000)
        assert_raise ArgumentError, ~r/already received/, fn -> Switchboard.await(call, 5_000) end
      end
    end

    test "after a plain receive took the result, await/2 raises at once" do
      reg = registry!(%{clients: [openai("A", scenario())]})
      %Call{ref: ref} = call = Switchboard.async(reg, "hi")
      assert_receive {^ref, {:ok, %Response{}}}, 5_000
      assert_raise ArgumentError, ~r/already received/, fn -> Switchboard.await(call) end
    end

    test "awaiting from a process that is not the receiver raises, and leaves the result to it" do
      sc = scripted([%{delay_ms: 200}])
      reg = registry!(%{clients: [openai("A", sc)]})
      call = Switchboard.async(reg, "hi")
      test = self()

      task =
        Task.async(fn ->
          assert_raise ArgumentError, ~r/only the call's receiver #{inspect(test)}/, fn ->
            Switchboard.await(call, 5_000)
          end
        end)

      assert %ArgumentError{} = Task.await(task)
      assert call.owner == test
      assert {:ok, %Response{}} = Switchboard.await(call)
    end

    test "the :to process of stream_to/3 awaits the call; the process that started it cannot" do
      reg = registry!(%{clients: [openai("A", scripted([%{content: "one two", chunks: 2}]))]})
      parent = self()

      receiver =
        spawn_link(fn ->
          receive do
            {:go, call} -> send(parent, {:awaited, Switchboard.await(call, 5_000)})
          end
        end)

      call = Switchboard.stream_to(reg, "hi", to: receiver)
      assert call.owner == receiver
      assert_raise ArgumentError, ~r/only the call's receiver/, fn -> Switchboard.await(call) end
      send(receiver, {:go, call})
      assert_receive {:awaited, {:ok, %Response{content: "one two"}}}, 5_000
    end

    test "on a streamed call it consumes the chunks and returns the final response" do
      content = Enum.map_join(1..20, " ", &"w#{&1}")
      sc = scripted([%{content: content, chunks: 20, chunk_delay_ms: 5}])
      reg = registry!(%{clients: [anthropic("A", sc)]})
      # A window of 2: await/2 must ack the chunks for the text to keep coming
      # as chunks (the final response has it all either way).
      %Call{ref: ref} = call = Switchboard.stream_to(reg, "hi", window: 2)

      assert {:ok, %Response{content: ^content}} = Switchboard.await(call, 10_000)
      refute_received {^ref, _}
    end

    test "after some chunks were taken by hand, await/2 returns the rest's final response" do
      sc = scripted([%{content: "a b c d", chunks: 4, chunk_delay_ms: 20}])
      reg = registry!(%{clients: [openai("A", sc)]})
      %Call{ref: ref} = call = Switchboard.stream_to(reg, "hi")
      assert_receive {^ref, {:chunk, %Chunk{text: "a"}}}, 5_000
      Switchboard.ack(call)
      assert {:ok, %Response{content: "a b c d"}} = Switchboard.await(call)
      refute_received {^ref, _}
    end

    test "a streamed call that retried after chunks: the reset is consumed, the result is final" do
      sc =
        scripted([
          %{content: "bad bad", chunks: 2, error_after: 1},
          %{content: "good", chunks: 1}
        ])

      reg =
        registry!(%{
          clients: [anthropic("A", sc, %{}, "Quick")],
          retry_policies: %{
            "Quick" => %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 10}}
          }
        })

      %Call{ref: ref} = call = Switchboard.stream_to(reg, "hi")
      assert {:ok, %Response{content: "good", attempts: [_, _]}} = Switchboard.await(call)
      refute_received {^ref, _}
    end

    test "a finite timeout that fires cancels the call and leaves no message behind" do
      sc = scripted([%{delay_ms: 10_000}])
      reg = registry!(%{clients: [openai("A", sc)]})
      %Call{ref: ref} = call = Switchboard.async(reg, "hi")
      # The request is in flight (on a busy machine 100 ms may not be enough
      # to get there).
      assert :ok = Mock.await_outcome(mock(), sc, 0, "pending", 5_000)

      assert {:error, %Error{kind: :timeout, message: msg}} = Switchboard.await(call, 100)
      assert msg =~ "await/2 gave up after 100 ms"
      # The terminal message was consumed by await/2, and a call has one.
      assert Switchboard.Native.call_state(call.handle) == :sent
      refute_received {^ref, _}
      assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
      assert_raise ArgumentError, ~r/already received/, fn -> Switchboard.await(call, 100) end
    end

    test "a timeout of 0 on a call in flight cancels it at once" do
      sc = scripted([%{delay_ms: 10_000}])
      reg = registry!(%{clients: [openai("A", sc)]})
      %Call{ref: ref} = call = Switchboard.async(reg, "hi")
      assert {:error, %Error{kind: :timeout}} = Switchboard.await(call, 0)
      refute_received {^ref, _}
    end

    test "a timeout that fires mid-stream consumes the chunks sent so far" do
      sc = scripted([%{chunks: 1_000, chunk_delay_ms: 5}])
      reg = registry!(%{clients: [openai("A", sc)]})
      %Call{ref: ref} = call = Switchboard.stream_to(reg, "hi")
      assert_receive {^ref, {:chunk, _}}, 5_000
      assert {:error, %Error{kind: :timeout}} = Switchboard.await(call, 50)
      refute_received {^ref, _}
      assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
    end

    test "a timeout that is not a non-negative integer or :infinity raises" do
      reg = registry!(%{clients: [openai("A", scenario())]})
      call = Switchboard.async(reg, "hi")

      for bad <- [-1, 1.5, "100", nil] do
        assert_raise ArgumentError, ~r/timeout must be a non-negative integer/, fn ->
          Switchboard.await(call, bad)
        end
      end

      assert {:ok, %Response{}} = Switchboard.await(call)
    end
  end

  describe "options" do
    @call_funs [:call, :call!, :async]

    # {functions, opts, what the message must contain}
    @rejected [
      {@call_funs, [to: self()], ~r/unknown option :to .*options of stream_to\/3/},
      {@call_funs, [window: 4], ~r/unknown option :window .*options of stream_to\/3/},
      {[:stream], [to: self()], ~r/unknown option :to/},
      {@call_funs ++ [:stream_to, :stream], [bogus: 1], ~r/unknown option :bogus/},
      {@call_funs ++ [:stream_to, :stream], [timeout: -1], ~r/option :timeout must be .*got: -1/},
      {@call_funs ++ [:stream_to, :stream], [timeout: 0], ~r/option :timeout .*got: 0/},
      {@call_funs ++ [:stream_to, :stream], [timeout: "soon"], ~r/option :timeout .*a string/},
      {@call_funs ++ [:stream_to, :stream], [options: "x"], ~r/option :options must be a map/},
      {@call_funs ++ [:stream_to, :stream], [options: [1]], ~r/option :options must be a map/},
      {@call_funs ++ [:stream_to, :stream], [client: 5], ~r/option :client .*got: 5/},
      {@call_funs ++ [:stream_to, :stream], [client: :A], ~r/option :client .*got: :A/},
      {[:stream_to], [to: :not_a_pid], ~r/option :to must be a local pid/},
      {[:stream_to, :stream], [window: 0], ~r/option :window .*got: 0/},
      {[:stream_to, :stream], [window: "8"], ~r/option :window .*a string/},
      {@call_funs ++ [:stream_to, :stream], %{timeout: 1}, ~r/options must be a keyword list/},
      {@call_funs ++ [:stream_to, :stream], [1, 2], ~r/options must be a keyword list/},
      {@call_funs ++ [:stream_to, :stream], [{"timeout", 1}], ~r/keyword list/}
    ]

    test "each function raises ArgumentError naming the option, and starts nothing" do
      sc = scenario()
      reg = registry!(%{clients: [openai("A", sc)]})

      for {funs, opts, message} <- @rejected, fun <- funs do
        error = assert_raise ArgumentError, fn -> apply(Switchboard, fun, [reg, "hi", opts]) end

        assert Exception.message(error) =~ message,
               "#{fun}(#{inspect(opts)}): #{Exception.message(error)}"

        assert Exception.message(error) =~ "Switchboard.#{fun}/3"
      end

      # Had any of them started a call, its request would reach the mock
      # before this one's answer, and its message this mailbox.
      assert {:ok, %Response{}} = Switchboard.call(reg, "the only one")
      assert [%{"json" => %{"messages" => [%{"content" => "the only one"}]}}] = requests(sc)
      refute_received _
    end

    test "a first argument that is not a registry raises, without showing its contents" do
      config = %{clients: [%{name: "A", provider: "openai", options: %{api_key: "sk-secret"}}]}

      for fun <- [:call, :call!, :async, :stream_to, :stream], reg <- [config, nil, "A"] do
        error = assert_raise ArgumentError, fn -> apply(Switchboard, fun, [reg, "hi", []]) end
        assert Exception.message(error) =~ "must be a Switchboard.Registry"
        refute Exception.message(error) =~ "sk-secret"
      end
    end

    test "stream/3 checks its options when called, not when enumerated" do
      reg = registry!(%{clients: [openai("A", scenario())]})
      assert_raise ArgumentError, ~r/:window/, fn -> Switchboard.stream(reg, "hi", window: 0) end
    end

    test "each function accepts its own options" do
      sc = scripted([%{content: "ok", repeat: -1}])
      reg = registry!(%{clients: [openai("A", sc)]})
      common = [client: "A", options: %{temperature: 0.1}, timeout: 5_000, metadata: %{id: 7}]

      assert {:ok, %Response{content: "ok"}} = Switchboard.call(reg, "hi", common)
      assert %Response{content: "ok"} = Switchboard.call!(reg, "hi", common)
      assert {:ok, _} = reg |> Switchboard.async("hi", common) |> Switchboard.await()

      call = Switchboard.stream_to(reg, "hi", common ++ [to: self(), window: :infinity])
      assert {:ok, %Response{content: "ok"}} = Switchboard.await(call)

      chunks = Enum.to_list(Switchboard.stream(reg, "hi", common ++ [window: 1]))
      assert %Chunk{response: %Response{content: "ok"}} = List.last(chunks)

      assert Enum.all?(requests(sc), &(&1["json"]["temperature"] == 0.1))
    end
  end
end
