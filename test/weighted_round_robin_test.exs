defmodule Switchboard.WeightedRoundRobinTest do
  @moduledoc """
  Weighted round-robin over real HTTP against the mock: `strategy` entries
  written as `%{client: name, weight: n}` beside plain names, spread in
  proportion to their weights and interleaved (smooth weighted round-robin),
  from one position every caller shares.
  """
  use Switchboard.Case, async: true

  @weights %{"A" => 3, "B" => 2, "C" => 1}

  # A round-robin "RR" over A (weight 3), B (2) and C (a plain name: 1),
  # each an OpenAI client answering from a scenario of its own.
  defp weighted_registry(rr_options \\ %{}) do
    [a, b, c] = for _ <- 1..3, do: scenario("wrr")

    strategy = [%{client: "A", weight: 3}, %{"client" => "B", "weight" => 2}, "C"]

    reg =
      registry!(%{
        primary: "RR",
        clients: [
          openai("A", a),
          openai("B", b),
          openai("C", c),
          %{
            name: "RR",
            provider: "round-robin",
            options: Map.put(rr_options, :strategy, strategy)
          }
        ]
      })

    {reg, %{"A" => a, "B" => b, "C" => c}}
  end

  # Every call from a process of its own, all in flight together.
  defp concurrent_calls(reg, n) do
    1..n
    |> Enum.map(fn i -> Task.async(fn -> Switchboard.call!(reg, "call #{i}").client end) end)
    |> Task.await_many(60_000)
  end

  defp longest_runs(sequence) do
    sequence
    |> Enum.chunk_by(& &1)
    |> Enum.reduce(%{}, fn [client | _] = run, acc ->
      Map.update(acc, client, length(run), &max(&1, length(run)))
    end)
  end

  test "3,000 calls from concurrent callers split 3:2:1, every cycle of six holding 3:2:1" do
    {reg, scenarios} = weighted_registry()

    # 500 rounds of six callers at once. Each round takes six consecutive
    # turns of the shared position, one whole cycle, whatever order its
    # callers take them in, so each round must hold the weights exactly.
    rounds = for _ <- 1..500, do: Enum.frequencies(concurrent_calls(reg, 6))
    assert Enum.all?(rounds, &(&1 == @weights)), inspect(Enum.uniq(rounds))

    counts = Enum.reduce(rounds, %{}, &Map.merge(&1, &2, fn _, x, y -> x + y end))
    assert counts == %{"A" => 1500, "B" => 1000, "C" => 500}

    for {client, weight} <- @weights do
      share = counts[client] / 3000
      assert abs(share - weight / 6) <= 0.01 * (weight / 6), "#{client}: #{share}"
      # What the callers were told is what the providers received.
      assert length(requests(scenarios[client])) == counts[client]
    end
  end

  test "32 callers without rounds still share one position: exactly 3:2:1 over 3,000 calls" do
    {reg, scenarios} = weighted_registry()

    counts =
      1..3000
      |> Task.async_stream(fn _ -> Switchboard.call!(reg, "hi").client end,
        max_concurrency: 32,
        timeout: 60_000
      )
      |> Enum.frequencies_by(fn {:ok, client} -> client end)

    # 3,000 turns are 500 whole cycles: a lost or repeated turn would show.
    assert counts == %{"A" => 1500, "B" => 1000, "C" => 500}
    assert Map.new(scenarios, fn {c, sc} -> {c, length(requests(sc))} end) == counts
  end

  test "the sequence of choices interleaves: never more than the weight in a row" do
    {reg, scenarios} = weighted_registry()

    # Three caller processes take turns, one call each, so the order the
    # callers see is the order of the shared position's turns.
    callers = for _ <- 1..3, do: spawn_caller(reg)

    sequence =
      for i <- 1..600 do
        caller = Enum.at(callers, rem(i, 3))
        send(caller, {:call, self()})
        assert_receive {:answered, ^caller, client}, 10_000
        client
      end

    Enum.each(callers, &send(&1, :stop))

    runs = longest_runs(sequence)
    for {client, weight} <- @weights, do: assert(runs[client] <= weight, inspect(runs))
    # Spread out, not bunched: A never comes three times in a row.
    assert runs == %{"A" => 2, "B" => 1, "C" => 1}

    # Every six consecutive choices, wherever they start, hold 3:2:1.
    for window <- Enum.chunk_every(sequence, 6, 1, :discard) do
      assert Enum.frequencies(window) == @weights, inspect(window)
    end

    # nginx's order for weights 3, 2, 1.
    assert Enum.take(sequence, 6) == ~w(A B A C B A)

    # The providers received the calls in that order.
    arrivals =
      scenarios
      |> Enum.flat_map(fn {client, sc} ->
        Enum.map(requests(sc), &{&1["received_at_us"], client})
      end)
      |> Enum.sort()
      |> Enum.map(&elem(&1, 1))

    assert arrivals == sequence
  end

  test "start names the entry the order begins with" do
    {reg, _} = weighted_registry(%{start: 2})
    sequence = for _ <- 1..6, do: Switchboard.call!(reg, "hi").client
    assert sequence == ~w(C B A A B A)
  end

  test "weights of 1 are a plain round-robin" do
    [a, b] = for _ <- 1..2, do: scenario("wrr")

    rr = fn strategy ->
      registry!(%{
        primary: "RR",
        clients: [
          openai("A", a),
          openai("B", b),
          %{name: "RR", provider: "round-robin", options: %{strategy: strategy, start: 1}}
        ]
      })
    end

    plain = rr.(["A", "B"])
    weighted = rr.([%{client: "A", weight: 1}, %{client: "B"}])
    answers = fn reg -> for _ <- 1..5, do: Switchboard.call!(reg, "hi").client end
    assert answers.(plain) == ~w(B A B A B)
    assert answers.(weighted) == ~w(B A B A B)
  end

  test "invalid weights are :config errors naming the round-robin and the entry's client" do
    sc = scenario("wrr")

    build = fn provider, entry ->
      Registry.new(%{
        primary: "RR",
        clients: [
          openai("A", sc),
          %{name: "RR", provider: provider, options: %{strategy: [entry]}}
        ]
      })
    end

    for weight <- [0, -1, 1.5, "2", 1001, true] do
      assert {:error, %Error{kind: :config, message: message}} =
               build.("round-robin", %{client: "A", weight: weight})

      assert message =~ ~s(client "RR")
      assert message =~ ~s(weight of "A")
      assert message =~ "from 1 to 1000"
    end

    assert {:error, %Error{kind: :config, message: message}} =
             build.("fallback", %{client: "A", weight: 2})

    assert message =~ ~s(client "RR") and message =~ "only a round-robin"

    assert {:error, %Error{kind: :config, message: message}} =
             build.("round-robin", %{client: "Nope", weight: 2})

    assert message =~ ~s(unknown client "Nope")

    assert {:error, %Error{kind: :config, message: message}} =
             build.("round-robin", %{name: "A", weight: 2})

    assert message =~ ~s(unknown key "name")
  end

  defp spawn_caller(reg) do
    spawn_link(fn -> caller_loop(reg) end)
  end

  defp caller_loop(reg) do
    receive do
      {:call, from} ->
        send(from, {:answered, self(), Switchboard.call!(reg, "hi").client})
        caller_loop(reg)

      :stop ->
        :ok
    end
  end
end
