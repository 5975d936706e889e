defmodule Switchboard.CircuitBreakerTest do
  @moduledoc """
  Circuit breakers end to end against the mock: a client that keeps
  failing is skipped with no HTTP request, one probe goes through after
  the cooldown, its answer closes the circuit and its failure opens it
  again, all under 1,000 concurrent calls with exactly one terminal
  message each; and `Switchboard.Registry.health/1` reports it.
  """
  use Switchboard.Case, async: true

  defp breaker_registry(a, b, breaker) do
    fallback_registry!([openai("A", a, %{circuit_breaker: breaker}), openai("B", b)])
  end

  # 1,000 async calls; each yields exactly one terminal message.
  defp burst(reg, n \\ 1_000) do
    calls = for _ <- 1..n, do: Switchboard.async(reg, "hi")
    results = Enum.map(calls, &Switchboard.await/1)
    for %{ref: ref} <- calls, do: refute_received({^ref, _})
    results
  end

  # The circuit's cooldown is a wall-clock contract: wait for the time
  # health/1 reports, then check that it says half-open.
  defp pass_cooldown(reg, client) do
    assert %{circuit: {:open, until}} = Switchboard.Registry.health(reg)[client]
    Process.sleep(max(until - System.system_time(:millisecond), 0) + 2)
    assert %{circuit: :half_open} = Switchboard.Registry.health(reg)[client]
  end

  defp refused_then_b?({:ok, %Response{client: "B", attempts: [first, _b]}}),
    do: match?(%Attempt{client: "A", status: nil, error: %Error{kind: :circuit_open}}, first)

  defp refused_then_b?(_other), do: false

  test "the breaker opens after its threshold and 1,000 calls skip the client with no HTTP" do
    a = scripted([%{status: 500, repeat: 3}])
    b = scenario()
    reg = breaker_registry(a, b, %{failure_threshold: 3, window_ms: 60_000, cooldown_ms: 600_000})

    for _ <- 1..3, do: assert({:ok, %Response{client: "B"}} = Switchboard.call(reg, "hi"))
    assert length(requests(a)) == 3

    now = System.system_time(:millisecond)

    assert %{"A" => %{circuit: {:open, until}, recent_failures: 3, in_flight: 0}} =
             Switchboard.Registry.health(reg)

    assert until > now + 590_000

    results = burst(reg)
    assert Enum.all?(results, &refused_then_b?/1)
    # Not one more request reached A's scenario.
    assert length(requests(a)) == 3
    assert length(requests(b)) == 1_003

    {:ok, %Response{attempts: [%Attempt{error: refusal} | _]}} = hd(results)
    assert refusal.message =~ ~s(the circuit of client "A" is open)
    assert refusal.retry_after_ms > 500_000
  end

  test "failures the contract does not retry never open the circuit" do
    a = scripted([%{status: 400, repeat: 5}])
    reg = breaker_registry(a, scenario(), %{failure_threshold: 2})

    for _ <- 1..5, do: assert({:ok, %Response{client: "B"}} = Switchboard.call(reg, "hi"))
    assert length(requests(a)) == 5
    assert %{"A" => %{circuit: :closed, recent_failures: 0}} = Switchboard.Registry.health(reg)
  end

  test "a provider that hangs past every call's timeout opens the circuit after slow_call_ms" do
    a = scripted([%{delay_ms: 60_000, repeat: 10}])

    reg =
      registry!(%{
        clients: [
          openai("A", a, %{
            circuit_breaker: %{failure_threshold: 2, cooldown_ms: 600_000, slow_call_ms: 100}
          })
        ]
      })

    for _ <- 1..2 do
      assert {:error, %Error{kind: :timeout}} = Switchboard.call(reg, "hi", timeout: 300)
    end

    assert {:error, %Error{kind: :circuit_open, attempts: [%Attempt{status: nil}]}} =
             Switchboard.call(reg, "hi", timeout: 300)

    assert %{"A" => %{circuit: {:open, _}, recent_failures: 2}} = Switchboard.Registry.health(reg)
  end

  test "a call whose own timeout is shorter than slow_call_ms says nothing about the client" do
    a = scripted([%{delay_ms: 60_000, repeat: 10}])

    reg =
      registry!(%{
        clients: [
          openai("A", a, %{circuit_breaker: %{failure_threshold: 1, slow_call_ms: 60_000}})
        ]
      })

    for _ <- 1..3 do
      assert {:error, %Error{kind: :timeout}} = Switchboard.call(reg, "hi", timeout: 50)
    end

    assert %{"A" => %{circuit: :closed, recent_failures: 0}} = Switchboard.Registry.health(reg)
  end

  test "one probe after the cooldown; its answer closes the circuit, its failure opens it again" do
    a = scripted([%{status: 500}])
    b = scenario()
    # The probe's lease outlasts the test: a slow machine issuing the 1,000
    # calls must not see a second probe (probe_timeout_ms, tested in the core).
    reg =
      breaker_registry(a, b, %{failure_threshold: 1, cooldown_ms: 200, probe_timeout_ms: 600_000})

    assert {:ok, %Response{client: "B"}} = Switchboard.call(reg, "hi")
    pass_cooldown(reg, "A")

    # The probe is held by the mock: the 999 other calls are refused while
    # it is under way, whatever their timing.
    :ok = Mock.script(mock(), a, [%{delay_ms: 600_000}])
    calls = for _ <- 1..1_000, do: Switchboard.async(reg, "hi")
    {finished, [probe]} = await_all_but(calls, 1)
    assert Enum.all?(finished, &refused_then_b?/1)
    assert :ok = Mock.await_outcome(mock(), a, 0, :pending, 60_000)
    assert [_probe] = requests(a)
    assert %{"A" => %{circuit: :half_open, in_flight: 1}} = Switchboard.Registry.health(reg)

    # Cancelling the probe does not leave the circuit stuck half-open.
    :ok = Switchboard.cancel(probe)
    assert {:error, %Error{kind: :cancelled}} = Switchboard.await(probe)
    %{ref: ref} = probe
    refute_received {^ref, _}

    # The next call probes; its answer closes the circuit, and the calls
    # after it reach A again.
    :ok = Mock.script(mock(), a, [])
    results = burst(reg)
    by_a = Enum.count(results, &match?({:ok, %Response{client: "A"}}, &1))
    assert by_a >= 1 and by_a == length(requests(a))
    assert Enum.all?(results, &(match?({:ok, %Response{client: "A"}}, &1) or refused_then_b?(&1)))
    assert %{"A" => %{circuit: :closed, recent_failures: 0}} = Switchboard.Registry.health(reg)
    assert {:ok, %Response{client: "A"}} = Switchboard.call(reg, "hi")

    # Open again; a probe that fails opens it for another cooldown.
    :ok = Mock.script(mock(), a, [%{status: 503, repeat: 2}])
    assert {:ok, %Response{client: "B"}} = Switchboard.call(reg, "hi")
    pass_cooldown(reg, "A")

    assert {:ok, %Response{attempts: [%Attempt{error: %Error{kind: :overloaded}}, _]}} =
             Switchboard.call(reg, "hi")

    assert %{"A" => %{circuit: {:open, _}}} = Switchboard.Registry.health(reg)
    pass_cooldown(reg, "A")

    # A probe answered 429 with a Retry-After longer than the policy waits
    # opens it for that long: the 999 calls around it are all refused.
    :ok = Mock.script(mock(), a, [%{status: 429, headers: %{"retry-after" => "3600"}}])
    results = burst(reg)
    assert length(requests(a)) == 1
    assert Enum.count(results, &refused_then_b?/1) == 999
    assert %{"A" => %{circuit: {:open, until}}} = Switchboard.Registry.health(reg)
    assert until > System.system_time(:millisecond) + 3_500_000
  end

  test "the registry's default applies to leaves without their own; false opts out" do
    [a, b] = [scripted([%{status: 500, repeat: 2}]), scripted([%{status: 500, repeat: 2}])]

    reg =
      registry!(%{
        circuit_breaker: %{failure_threshold: 1, cooldown_ms: 600_000},
        clients: [openai("A", a), openai("B", b, %{circuit_breaker: false})]
      })

    for client <- ["A", "B"], _ <- 1..2, do: Switchboard.call(reg, "hi", client: client)

    assert {length(requests(a)), length(requests(b))} == {1, 2}

    assert %{"A" => %{circuit: {:open, _}}, "B" => %{circuit: :closed, recent_failures: 0}} =
             Switchboard.Registry.health(reg)

    assert {:error, %Error{kind: :circuit_open, client: "A", status: nil, attempts: [_]}} =
             Switchboard.call(reg, "hi", client: "A")
  end

  test "the circuit outlives a reload while the client's config is unchanged" do
    a = scripted([%{status: 500}])

    config = %{
      clients: [openai("A", a, %{circuit_breaker: %{failure_threshold: 1, cooldown_ms: 600_000}})]
    }

    name = :"breaker_reload_#{System.unique_integer([:positive])}"
    start_supervised!({Switchboard.Registry, name: name, client_registry: config})

    assert {:error, %Error{kind: :server}} = Switchboard.call(name, "hi")
    :ok = Switchboard.Registry.reload(name, Map.put(config, :primary, "A"))
    assert %{"A" => %{circuit: {:open, _}}} = Switchboard.Registry.health(name)
    assert {:error, %Error{kind: :circuit_open}} = Switchboard.call(name, "hi")

    # A new config for the client is a new breaker.
    changed = %{clients: [openai("A", a, %{circuit_breaker: %{failure_threshold: 2}})]}
    :ok = Switchboard.Registry.reload(name, changed)
    assert %{"A" => %{circuit: :closed}} = Switchboard.Registry.health(name)
  end

  test "bad breaker options fail the registry, naming the client and the option" do
    bad = fn breaker ->
      Switchboard.Registry.new(%{clients: [openai("A", scenario(), %{circuit_breaker: breaker})]})
    end

    assert {:error, %Error{kind: :config, message: m}} = bad.(%{failure_threshold: 0})
    assert m =~ ~s(client "A" circuit_breaker: option "failure_threshold" must be between 1)
    assert {:error, %Error{kind: :config, message: m}} = bad.(%{cooldown: 5})
    assert m =~ ~s(unknown option "cooldown")
    assert {:error, %Error{kind: :config, message: m}} = bad.("on")
    assert m =~ ~s(client "A": option "circuit_breaker" must be a map)

    assert {:error, %Error{kind: :config, message: m}} =
             Switchboard.Registry.new(%{
               primary: "F",
               clients: [
                 openai("A", scenario()),
                 %{
                   name: "F",
                   provider: "fallback",
                   options: %{strategy: ["A"], circuit_breaker: %{}}
                 }
               ]
             })

    assert m =~ ~s(client "F": option "circuit_breaker" belongs on leaf clients)
  end
end
