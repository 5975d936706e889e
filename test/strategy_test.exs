defmodule Switchboard.StrategyTest do
  use Switchboard.Case, async: true

  test "fallback order across nested strategies" do
    [a, b, c, d] = for _ <- 1..4, do: scenario()
    :ok = Mock.script(mock(), a, [%{status: 500}])
    :ok = Mock.script(mock(), b, [%{status: 401}])
    :ok = Mock.script(mock(), c, [%{drop: true}])

    reg =
      registry!(%{
        primary: "Outer",
        clients: [
          openai("A", a),
          anthropic("B", b),
          openai("C", c),
          anthropic("D", d),
          %{name: "Inner", provider: "fallback", options: %{strategy: ["B", "C"]}},
          %{name: "Outer", provider: "fallback", options: %{strategy: ["A", "Inner", "D"]}}
        ]
      })

    assert {:ok, %Response{client: "D", provider: "anthropic"} = resp} =
             Switchboard.call(reg, "hi")

    assert attempt_clients(resp) == ["A", "B", "C", "D"]

    assert [%Error{kind: :server}, %Error{kind: :auth}, %Error{kind: :network}, nil] =
             Enum.map(resp.attempts, & &1.error)
  end

  test "a fallback whose clients all fail returns the last error with every attempt" do
    a = scripted([%{status: 500}])
    b = scripted([%{status: 429}])

    reg = fallback_registry!([openai("A", a), openai("B", b)])

    assert {:error, %Error{kind: :rate_limited, client: "B", message: msg} = e} =
             Switchboard.call(reg, "hi")

    assert msg =~ ~s(fallback "F")
    assert attempt_clients(e) == ["A", "B"]
  end

  test "round-robin rotates across 4 consecutive calls on one handle, from start" do
    [a, b, c] = for _ <- 1..3, do: scenario()

    reg =
      registry!(%{
        primary: "RR",
        clients: [
          openai("A", a),
          openai("B", b),
          anthropic("C", c),
          %{name: "RR", provider: "round-robin", options: %{strategy: ["A", "B", "C"], start: 1}}
        ]
      })

    answered = for _ <- 1..4, do: Switchboard.call!(reg, "hi").client
    assert answered == ["B", "C", "A", "B"]
    assert {length(requests(a)), length(requests(b)), length(requests(c))} == {1, 2, 1}
  end

  test "round-robin position is shared by concurrent callers" do
    [a, b] = for _ <- 1..2, do: scenario()

    reg =
      registry!(%{
        primary: "RR",
        clients: [
          openai("A", a),
          openai("B", b),
          %{name: "RR", provider: "round-robin", options: %{strategy: ["A", "B"]}}
        ]
      })

    1..100
    |> Task.async_stream(fn _ -> Switchboard.call!(reg, "hi").client end, max_concurrency: 20)
    |> Enum.frequencies_by(fn {:ok, client} -> client end)
    |> then(&assert(&1 == %{"A" => 50, "B" => 50}))
  end

  test "round-robin inside a fallback advances once per attempt" do
    [a, b, z] = for _ <- 1..3, do: scenario()
    :ok = Mock.script(mock(), a, [%{status: 500}])

    reg =
      registry!(%{
        primary: "F",
        clients: [
          openai("A", a),
          openai("B", b),
          openai("Z", z),
          %{name: "RR", provider: "round-robin", options: %{strategy: ["A", "B"]}},
          %{name: "F", provider: "fallback", options: %{strategy: ["RR", "Z"]}}
        ]
      })

    assert {:ok, %Response{client: "Z"}} = Switchboard.call(reg, "1")
    assert {:ok, %Response{client: "B"}} = Switchboard.call(reg, "2")
    assert {:ok, %Response{client: "A"}} = Switchboard.call(reg, "3")
  end

  test "client: option picks a client, including one inside a strategy" do
    [a, b] = for _ <- 1..2, do: scenario()

    reg = fallback_registry!([openai("A", a), anthropic("B", b)])

    assert {:ok, %Response{client: "B"}} = Switchboard.call(reg, "hi", client: "B")
    assert requests(a) == []
  end
end
