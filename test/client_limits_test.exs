defmodule Switchboard.ClientLimitsTest do
  @moduledoc """
  Client-side limits end to end against the mock: `max_in_flight` never
  lets the mock see more requests at once and loses no call, whether calls
  wait for a slot (the client called directly) or move on at once (the
  client inside a fallback); `requests_per_minute` and `tokens_per_minute`
  budgets hold over a burst.
  """
  use Switchboard.Case, async: true

  defp burst(reg, n, opts \\ []) do
    calls = for _ <- 1..n, do: Switchboard.async(reg, "hi", opts)
    results = Enum.map(calls, &Switchboard.await/1)
    for %{ref: ref} <- calls, do: refute_received({^ref, _})
    results
  end

  defp refused?(
         %Attempt{client: "A", status: nil, error: %Error{kind: :rate_limited} = e},
         limit
       ),
       do: e.status == nil and e.message =~ limit

  defp refused?(_attempt, _limit), do: false

  test "max_in_flight: 10 under 1,000 concurrent calls: never more than 10 at the mock, none lost" do
    a = scripted([%{delay_ms: 20, repeat: -1}])
    reg = registry!(%{clients: [openai("A", a, %{max_in_flight: 10})]})

    results = burst(reg, 1_000)
    assert Enum.all?(results, &match?({:ok, %Response{client: "A", attempts: [_]}}, &1))

    assert %{"requests" => 1_000, "peak_in_flight" => peak, "in_flight" => 0} =
             Mock.stats(mock(), a)

    assert peak in 1..10
    assert %{"A" => %{in_flight: 0}} = Switchboard.Registry.health(reg)
  end

  test "inside a fallback, a full max_in_flight moves on at once instead of waiting" do
    # A holds every request it gets: its 10 slots stay taken.
    a = scripted([%{delay_ms: 600_000, repeat: -1}])
    b = scenario()
    reg = fallback_registry!([openai("A", a, %{max_in_flight: 10}), openai("B", b)])

    calls = for _ <- 1..1_000, do: Switchboard.async(reg, "hi")
    {finished, held} = await_all_but(calls, 10)
    assert length(requests(b)) == 990

    assert Enum.all?(finished, fn
             {:ok, %Response{client: "B", attempts: [first, _]}} ->
               refused?(first, "max_in_flight (10) calls are in flight")

             _other ->
               false
           end)

    assert :ok = Mock.await_outcome(mock(), a, 9, :pending, 60_000)
    assert %{"requests" => 10, "peak_in_flight" => 10} = Mock.stats(mock(), a)
    assert %{"A" => %{in_flight: 10}} = Switchboard.Registry.health(reg)

    for call <- held do
      :ok = Switchboard.cancel(call)
      assert {:error, %Error{kind: :cancelled}} = Switchboard.await(call)
    end

    assert %{"A" => %{in_flight: 0}} = Switchboard.Registry.health(reg)
  end

  test "requests_per_minute holds over a burst; a called client waits only within its timeout" do
    a = scenario()
    b = scenario()
    reg = fallback_registry!([openai("A", a, %{requests_per_minute: 5}), openai("B", b)])

    started = System.monotonic_time(:millisecond)
    results = burst(reg, 200)
    elapsed = System.monotonic_time(:millisecond) - started
    assert Enum.all?(results, &match?({:ok, %Response{}}, &1))

    # A full bucket of 5, plus one request every 12 s the burst lasted.
    allowed = 5 + div(elapsed, 12_000)
    sent = length(requests(a))
    assert sent >= 5 and sent <= allowed
    assert length(requests(b)) == 200 - sent

    refusals = for {:ok, %Response{client: "B", attempts: [first, _]}} <- results, do: first

    assert length(refusals) == 200 - sent
    assert Enum.all?(refusals, &refused?(&1, "requests_per_minute (5)"))

    # Called directly, a slot seconds away is not waited for by a call
    # with less time than that: it fails at once, saying when.
    assert {:error, %Error{kind: :rate_limited, status: nil, retry_after_ms: wait} = e} =
             Switchboard.call(reg, "hi", client: "A", timeout: 1_000)

    assert wait > 1_000 and wait <= 12_000
    assert e.message =~ "requests_per_minute (5) is used up"
    assert length(requests(a)) == sent

    assert %{"A" => %{requests_available: left}, "B" => %{requests_available: nil}} =
             Switchboard.Registry.health(reg)

    assert left <= 0
  end

  test "tokens_per_minute is charged from each answer's usage" do
    # Each answer uses 12 + 8 = 20 tokens.
    a = scenario()
    reg = fallback_registry!([openai("A", a, %{tokens_per_minute: 30}), openai("B", scenario())])

    assert {:ok, %Response{client: "A"}} = Switchboard.call(reg, "hi")
    # 30 - 20, and half a token back each second since.
    assert %{"A" => %{tokens_available: left}} = Switchboard.Registry.health(reg)
    assert left >= 10
    # Some budget is left, so the next call starts, and goes over it.
    assert {:ok, %Response{client: "A"}} = Switchboard.call(reg, "hi")
    assert {:ok, %Response{client: "B", attempts: [first, _]}} = Switchboard.call(reg, "hi")
    assert refused?(first, "tokens_per_minute (30) is used up")
    assert length(requests(a)) == 2
  end

  test "limit options are positive integers, on leaf clients only" do
    new = fn options ->
      Switchboard.Registry.new(%{clients: [openai("A", scenario(), options)]})
    end

    assert {:error, %Error{kind: :config, message: m}} = new.(%{max_in_flight: 0})
    assert m =~ ~s(client "A": option "max_in_flight" must be between 1)
    assert {:error, %Error{kind: :config, message: m}} = new.(%{requests_per_minute: "60"})
    assert m =~ ~s(option "requests_per_minute" must be a non-negative integer)

    # Never sent in the body, nor set per call.
    a = scenario()
    reg = registry!(%{clients: [openai("A", a, %{max_in_flight: 3, tokens_per_minute: 1_000})]})
    assert {:ok, _} = Switchboard.call(reg, "hi")
    assert [%{"json" => body}] = requests(a)
    refute Map.has_key?(body, "max_in_flight") or Map.has_key?(body, "tokens_per_minute")

    assert {:error, %Error{kind: :invalid_request, message: m}} =
             Switchboard.call(reg, "hi", options: %{max_in_flight: 100})

    assert m =~ "a client setting"
  end
end
