defmodule Switchboard.CostTest do
  @moduledoc """
  `pricing:` over real HTTP against the mock: each attempt that read an
  answer carries its usage and cost, answers read and then rejected
  included, and the response's `usage.cost` adds up every attempt's.
  """
  use Switchboard.Case, async: true

  # Per million tokens.
  @pricing %{input_per_million: 2.0, output_per_million: 10.0, cached_input_per_million: 0.5}

  @schema %{
    "type" => "object",
    "required" => ["ok"],
    "properties" => %{"ok" => %{"type" => "boolean"}}
  }

  defp cost(input, cached, output),
    do: ((input - cached) * 2.0 + cached * 0.5 + output * 10.0) / 1_000_000

  defp assert_cost(got, expected), do: assert_in_delta(got, expected, 1.0e-12)

  test "a failed, a schema-rejected and a good attempt: the two answers read are billed" do
    sc =
      scripted([
        %{status: 500},
        %{content: ~s({"ok": "yes"}), usage: %{input_tokens: 100, output_tokens: 20}},
        %{
          content: ~s({"ok": true}),
          usage: %{input_tokens: 100, output_tokens: 30, cached_input_tokens: 40}
        }
      ])

    reg = registry!(%{clients: [openai("A", sc, %{pricing: @pricing}, "DefaultRetry")]})

    assert {:ok, resp} =
             Switchboard.call(reg, "hi", output_schema: @schema, retry_invalid_output: true)

    assert [
             %Attempt{status: 500, usage: nil},
             %Attempt{error: %Error{kind: :bad_response}, usage: %Usage{} = rejected},
             %Attempt{status: 200, usage: %Usage{} = answered}
           ] = resp.attempts

    assert {rejected.input_tokens, rejected.output_tokens} == {100, 20}
    assert_cost(rejected.cost, cost(100, 0, 20))
    assert_cost(answered.cost, cost(100, 40, 30))

    # The answer's own tokens, the whole call's cost.
    assert {resp.usage.input_tokens, resp.usage.cached_input_tokens} == {100, 40}
    assert_cost(resp.usage.cost, cost(100, 0, 20) + cost(100, 40, 30))
  end

  test "an answer refused by the deny list is billed, and a fallback's client adds its own price" do
    deny = scripted([%{finish_reason: "length", usage: %{input_tokens: 50, output_tokens: 400}}])
    ok = scripted([%{usage: %{input_tokens: 50, output_tokens: 10}}])
    cheap = %{input_per_million: 0.1, output_per_million: 0.4}

    reg =
      fallback_registry!([
        openai("A", deny, %{pricing: @pricing, finish_reason_deny_list: ["length"]}),
        openai("B", ok, %{pricing: cheap})
      ])

    assert {:ok, resp} = Switchboard.call(reg, "hi")
    assert resp.client == "B"

    assert [%Attempt{error: %Error{kind: :finish_reason}, usage: a}, %Attempt{usage: b}] =
             resp.attempts

    assert_cost(a.cost, cost(50, 0, 400))
    assert_cost(b.cost, (50 * 0.1 + 10 * 0.4) / 1_000_000)
    assert_cost(resp.usage.cost, a.cost + b.cost)
  end

  test "a stream cut after the provider reported usage is billed for what it reported" do
    sc =
      scripted([
        %{truncate_after: 1, usage: %{input_tokens: 70, output_tokens: 5}},
        %{usage: %{input_tokens: 70, output_tokens: 5}}
      ])

    reg = registry!(%{clients: [anthropic("A", sc, %{pricing: @pricing}, "DefaultRetry")]})
    chunks = reg |> Switchboard.stream("hi") |> Enum.to_list()
    %Switchboard.Chunk{response: resp} = List.last(chunks)

    # Anthropic's message_start reports the input and one output token so far.
    assert [%Attempt{error: %Error{kind: :network}, usage: cut}, %Attempt{usage: whole}] =
             resp.attempts

    assert {cut.input_tokens, cut.output_tokens} == {70, 1}
    assert_cost(resp.usage.cost, cost(70, 0, 1) + whole.cost)
  end

  test "a failed call's attempts carry what was billed" do
    sc = scripted([%{content: "no json", usage: %{input_tokens: 10, output_tokens: 10}}])
    reg = registry!(%{clients: [openai("A", sc, %{pricing: @pricing})]})

    assert {:error, %Error{kind: :bad_response, attempts: [%Attempt{usage: u}]}} =
             Switchboard.call(reg, "hi", output_schema: @schema)

    assert_cost(u.cost, cost(10, 0, 10))
  end

  test "without pricing there is usage but no cost" do
    reg = registry!(%{clients: [openai("A", scripted([%{}]))]})
    assert {:ok, resp} = Switchboard.call(reg, "hi")
    assert resp.usage.cost == nil
    assert [%Attempt{usage: %Usage{input_tokens: 12, cost: nil}}] = resp.attempts
  end

  test "pricing is checked when the registry is built and is never sent" do
    sc = scripted([%{}])

    for {bad, says} <- [
          {%{input_per_million: 1}, "missing \"output_per_million\""},
          {%{input_per_million: -1, output_per_million: 1}, "must be a number >= 0"},
          {%{input_per_million: "1", output_per_million: 1}, "must be a number"},
          {"cheap", "must be a map"}
        ] do
      assert {:error, %Error{kind: :config, message: message}} =
               Registry.new(%{clients: [openai("A", sc, %{pricing: bad})]})

      assert message =~ ~s(client "A" option "pricing") and message =~ says
    end

    reg = registry!(%{clients: [openai("A", sc, %{pricing: @pricing})]})
    assert {:ok, _} = Switchboard.call(reg, "hi")
    assert [req] = requests(sc)
    refute Map.has_key?(req["json"], "pricing")

    assert {:error, %Error{kind: :invalid_request}} =
             Switchboard.call(reg, "hi", options: %{pricing: @pricing})
  end
end
