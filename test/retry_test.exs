defmodule Switchboard.RetryTest do
  use Switchboard.Case, async: true

  # Wall time only bounds from below here: a retry's gap is its sleep plus
  # a round trip and however long a loaded machine takes to schedule it.
  # The exact delay arithmetic is tested on tokio's paused clock in
  # switchboard_core.

  for status <- [500, 429, 529] do
    test "DefaultRetry sleeps 200, 300, 450 ms between attempts on #{status}" do
      sc =
        scripted([
          %{status: unquote(status)},
          %{status: unquote(status)},
          %{status: unquote(status)}
        ])

      reg = registry!(%{clients: [openai("A", sc, %{}, "DefaultRetry")]})

      assert {:ok, %Response{} = resp} = Switchboard.call(reg, "hi")

      assert Enum.map(resp.attempts, & &1.status) == [
               unquote(status),
               unquote(status),
               unquote(status),
               200
             ]

      gaps = gaps_ms(requests(sc))
      assert length(gaps) == 3

      for {gap, expected} <- Enum.zip(gaps, [200, 300, 450]) do
        assert gap >= expected, "gaps #{inspect(gaps)}, expected at least [200, 300, 450]"
      end
    end
  end

  test "gives up after max_retries with every attempt recorded" do
    sc = scripted(List.duplicate(%{status: 500}, 5))
    reg = registry!(%{clients: [openai("A", sc, %{}, "DefaultRetry")]})
    assert {:error, %Error{kind: :server, status: 500} = e} = Switchboard.call(reg, "hi")
    assert length(e.attempts) == 4
    assert length(requests(sc)) == 4
  end

  for {status, kind} <- [
        {400, :invalid_request},
        {401, :auth},
        {403, :permission},
        {404, :not_found}
      ] do
    test "no retry on #{status}" do
      sc = scripted([%{status: unquote(status)}, %{status: 200}])
      reg = registry!(%{clients: [anthropic("A", sc, %{}, "DefaultRetry")]})
      assert {:error, %Error{kind: unquote(kind)} = e} = Switchboard.call(reg, "hi")
      assert length(e.attempts) == 1
      assert length(requests(sc)) == 1
    end
  end

  test "custom constant policy, and retries on timeouts and dropped connections" do
    # The timeout is generous enough for the last, undelayed attempt on a
    # busy machine, and far below the second attempt's delay.
    sc = scripted([%{drop: true}, %{delay_ms: 30_000}, %{}])

    reg =
      registry!(%{
        clients: [openai("A", sc, %{http: %{request_timeout_ms: 1_000}}, "Quick")],
        retry_policies: %{
          "Quick" => %{max_retries: 2, strategy: %{type: "constant_delay", delay_ms: 20}}
        }
      })

    assert {:ok, resp} = Switchboard.call(reg, "hi")

    assert [
             %Attempt{error: %Error{kind: :network}},
             %Attempt{error: %Error{kind: :timeout}},
             %Attempt{status: 200}
           ] = resp.attempts
  end

  test "a short Retry-After is honoured" do
    sc = scripted([%{status: 429, headers: %{"retry-after" => "1"}}])

    reg =
      registry!(%{
        clients: [openai("A", sc, %{}, "Fast")],
        retry_policies: %{
          "Fast" => %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 10}}
        }
      })

    assert {:ok, %Response{}} = Switchboard.call(reg, "hi")
    [gap] = gaps_ms(requests(sc))
    assert gap >= 1_000
  end

  test "Retry-After above max_delay_ms falls through to the fallback at once" do
    primary = scripted([%{status: 429, headers: %{"retry-after" => "30"}}])
    backup = scenario()

    reg =
      fallback_registry!([
        openai("Primary", primary, %{}, "DefaultRetry"),
        anthropic("Backup", backup)
      ])

    # Had the primary waited the 30 s it was asked to, it would have been
    # asked again (its script then answers 200), so Backup answering with
    # one request to the primary shows the retry was given up, not delayed.
    assert {:ok, %Response{client: "Backup"} = resp} = Switchboard.call(reg, "hi")

    assert length(requests(primary)) == 1

    assert [
             %Attempt{client: "Primary", status: 429, error: %Error{retry_after_ms: 30_000}},
             %Attempt{client: "Backup", status: 200}
           ] = resp.attempts
  end

  test "a policy on a strategy re-runs the whole strategy" do
    a = scripted([%{status: 500}, %{status: 500}])
    b = scripted([%{status: 503}])

    reg =
      registry!(%{
        primary: "F",
        clients: [
          openai("A", a),
          openai("B", b),
          %{
            name: "F",
            provider: "fallback",
            options: %{strategy: ["A", "B"]},
            retry_policy: "Again"
          }
        ],
        retry_policies: %{
          "Again" => %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 10}}
        }
      })

    assert {:ok, %Response{client: "B"} = resp} = Switchboard.call(reg, "hi")
    assert attempt_clients(resp) == ["A", "B", "A", "B"]
    assert Enum.map(resp.attempts, & &1.status) == [500, 503, 500, 200]
  end
end
