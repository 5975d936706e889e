defmodule Switchboard.CancelTest do
  use Switchboard.Case, async: true

  defp await_pending(sc) do
    assert :ok = Mock.await_outcome(mock(), sc, 0, "pending", 5_000)
  end

  test "cancel/1 ends the call with :cancelled and the mock sees the connection closed" do
    sc = scripted([%{delay_ms: 10_000}])
    reg = registry!(%{clients: [openai("A", sc, %{}, "DefaultRetry")]})
    %Call{ref: ref} = call = Switchboard.async(reg, "hi")
    await_pending(sc)

    assert :ok = Switchboard.cancel(call)
    assert_receive {^ref, {:error, %Error{kind: :cancelled} = e}}, 5_000
    assert [%Attempt{client: "A", error: %Error{kind: :cancelled}}] = e.attempts
    assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
    # Cancelling again, or after the end, is harmless and sends nothing.
    assert :ok = Switchboard.cancel(call)
    refute_receive {^ref, _}, 100
  end

  test "cancel/1 during a retry sleep stops the retries" do
    # A streamed attempt that fails after its first chunk: the reset message
    # says the client has recorded the failure and goes on to its retry
    # sleep of 5 s.
    sc = scripted([%{content: "x y", chunks: 2, error_after: 1}])

    reg =
      registry!(%{
        clients: [anthropic("A", sc, %{}, "Slow")],
        retry_policies: %{
          "Slow" => %{max_retries: 3, strategy: %{type: "constant_delay", delay_ms: 5_000}}
        }
      })

    %Call{ref: ref} = call = Switchboard.stream_to(reg, "hi")
    assert_receive {^ref, {:chunk, %{text: "x"}}}, 5_000
    Switchboard.ack(call)
    assert_receive {^ref, {:reset, %Attempt{error: %Error{kind: :overloaded}}}}, 5_000
    Switchboard.cancel(call)

    assert_receive {^ref,
                    {:error,
                     %Error{
                       kind: :cancelled,
                       attempts: [%Attempt{status: 200, error: %Error{kind: :overloaded}}]
                     }}},
                   5_000

    assert length(requests(sc)) == 1
  end

  test "the receiver dying cancels the call and aborts the request" do
    sc = scripted([%{delay_ms: 10_000}])
    reg = registry!(%{clients: [anthropic("A", sc)]})

    pid =
      spawn(fn ->
        Switchboard.async(reg, "hi")
        Process.sleep(:infinity)
      end)

    await_pending(sc)
    Process.exit(pid, :kill)
    assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
  end

  test "a result that arrived before cancel/1 stays the only message" do
    sc = scenario()
    reg = registry!(%{clients: [openai("A", sc)]})
    %Call{ref: ref} = call = Switchboard.async(reg, "hi")
    assert_receive {^ref, {:ok, %Response{}}}, 5_000
    assert :ok = Switchboard.cancel(call)
    refute_receive {^ref, _}, 100
  end

  test "1,000 concurrent async calls from one process give exactly 1,000 terminal messages" do
    ok_sc = scripted([%{delay_ms: 50, repeat: -1}])
    failing = scripted([%{status: 400, repeat: -1}])
    reg = registry!(%{clients: [openai("Ok", ok_sc), anthropic("Bad", failing)]})

    calls =
      for i <- 1..1_000 do
        client = if rem(i, 4) == 0, do: "Bad", else: "Ok"
        Switchboard.async(reg, "call #{i}", client: client)
      end

    refs = MapSet.new(calls, & &1.ref)

    results =
      for _ <- 1..1_000 do
        receive do
          {ref, result} when is_reference(ref) -> {ref, result}
        after
          30_000 -> flunk("a call did not answer")
        end
      end

    assert MapSet.new(results, &elem(&1, 0)) == refs
    counts = Enum.frequencies_by(results, fn {_, {tag, _}} -> tag end)
    assert counts == %{ok: 750, error: 250}
    refute_receive _, 300
  end
end
