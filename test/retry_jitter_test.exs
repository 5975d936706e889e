defmodule Switchboard.RetryJitterTest do
  @moduledoc """
  A retry policy's `jitter` over real HTTP: checked when the registry is
  built, and a jittered policy still retries, never sooner than its lower
  bound. That the delays stay within bounds and vary is shown on tokio's
  paused clock in switchboard_core (`jittered_backoff_sleeps_within_its_bounds_and_varies`).
  """
  use Switchboard.Case, async: true

  defp policy(jitter),
    do: %{max_retries: 2, strategy: %{type: "constant_delay", delay_ms: 100, jitter: jitter}}

  test "a jittered policy retries, each gap at least delay * (1 - jitter)" do
    sc = scripted([%{status: 500}, %{status: 503}])

    reg =
      registry!(%{
        clients: [openai("A", sc, %{}, "Jittery")],
        retry_policies: %{"Jittery" => policy(0.5)}
      })

    assert {:ok, %Response{} = resp} = Switchboard.call(reg, "hi")
    assert Enum.map(resp.attempts, & &1.status) == [500, 503, 200]
    assert Enum.all?(gaps_ms(requests(sc)), &(&1 >= 50))
  end

  test "jitter is a fraction from 0 to 1 or \"full\", checked at build" do
    sc = scenario()

    for good <- [0, 0.2, 1, "full"] do
      assert {:ok, _} =
               Registry.new(%{
                 clients: [openai("A", sc, %{}, "P")],
                 retry_policies: %{"P" => policy(good)}
               })
    end

    for bad <- [1.5, -0.2, "half", true] do
      assert {:error, %Error{kind: :config, message: message}} =
               Registry.new(%{
                 clients: [openai("A", sc, %{}, "P")],
                 retry_policies: %{"P" => policy(bad)}
               })

      assert message =~ ~s(retry policy "P" strategy: jitter must be)
    end
  end
end
