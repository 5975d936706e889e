defmodule Switchboard.TimeoutTest do
  use Switchboard.Case, async: true

  defp elapsed_ms(fun) do
    {micros, result} = :timer.tc(fun)
    {div(micros, 1000), result}
  end

  test "connect_timeout_ms" do
    port = Mock.blackhole_port(mock())

    reg =
      registry!(%{
        clients: [
          %{
            name: "A",
            provider: "openai-generic",
            options: %{
              base_url: "http://127.0.0.1:#{port}/v1",
              model: "m",
              http: %{connect_timeout_ms: 200}
            }
          }
        ]
      })

    {ms, result} = elapsed_ms(fn -> Switchboard.call(reg, "hi") end)
    assert {:error, %Error{kind: :timeout, client: "A", message: msg}} = result
    assert msg =~ "connect_timeout_ms (200 ms)"
    assert ms >= 190
  end

  test "request_timeout_ms aborts the request" do
    sc = scripted([%{delay_ms: 3_000}])
    reg = registry!(%{clients: [openai("A", sc, %{http: %{request_timeout_ms: 200}})]})
    {ms, result} = elapsed_ms(fn -> Switchboard.call(reg, "hi") end)
    assert {:error, %Error{kind: :timeout, message: msg}} = result
    assert msg =~ "request_timeout_ms (200 ms)"
    assert ms >= 190
    assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
  end

  test "timeout: bounds the whole call, retries included, and a fallback does not go on" do
    # 500 ms of retry sleeps, then an attempt that outlasts the total timeout:
    # 2 s leaves a busy machine time for the first three round trips.
    a = scripted([%{status: 500}, %{status: 500}, %{delay_ms: 30_000}])
    b = scenario()

    reg = fallback_registry!([openai("A", a, %{}, "DefaultRetry"), openai("B", b)])

    {ms, result} = elapsed_ms(fn -> Switchboard.call(reg, "hi", timeout: 2_000) end)
    assert {:error, %Error{kind: :timeout, message: msg} = e} = result
    assert msg =~ "total timeout (2000 ms)"
    assert ms >= 1_990
    assert Enum.map(e.attempts, & &1.status) == [500, 500, nil]
    assert requests(b) == []
  end

  test "total_timeout_ms of a strategy fails it, and an outer fallback moves on" do
    slow = scripted([%{delay_ms: 5_000}])
    rescue_sc = scenario()

    reg =
      registry!(%{
        primary: "Outer",
        clients: [
          openai("Slow", slow),
          anthropic("Rescue", rescue_sc),
          %{
            name: "Bounded",
            provider: "fallback",
            options: %{strategy: ["Slow"], http: %{total_timeout_ms: 300}}
          },
          %{name: "Outer", provider: "fallback", options: %{strategy: ["Bounded", "Rescue"]}}
        ]
      })

    {ms, result} = elapsed_ms(fn -> Switchboard.call(reg, "hi") end)
    assert {:ok, %Response{client: "Rescue"} = resp} = result
    assert ms >= 290

    assert [
             %Attempt{client: "Slow", error: %Error{kind: :timeout, message: msg}},
             %Attempt{client: "Rescue"}
           ] = resp.attempts

    assert msg =~ ~s[total_timeout_ms (300 ms) of client "Bounded"]
  end

  test "await/2 with a timeout cancels the call and leaves no message behind" do
    sc = scripted([%{delay_ms: 5_000}])
    reg = registry!(%{clients: [openai("A", sc)]})
    %Call{ref: ref} = call = Switchboard.async(reg, "hi")
    assert :ok = Mock.await_outcome(mock(), sc, 0, "pending", 5_000)
    {ms, result} = elapsed_ms(fn -> Switchboard.await(call, 200) end)
    assert {:error, %Error{kind: :timeout, message: msg}} = result
    assert msg =~ "await/2 gave up after 200 ms"
    assert ms >= 200
    # The call's one terminal message was consumed by await/2.
    refute_received {^ref, _}
    assert :ok = Mock.await_outcome(mock(), sc, 0, "client_disconnected", 5_000)
  end
end
