defmodule Switchboard.GenerationParamsTest do
  @moduledoc """
  Generation parameters (`temperature`, `top_p`, `max_tokens`, `stop`) are
  typed once and checked, per attempt, against the documented limits of the
  client's dialect before any request; each dialect gets them under its own
  field names. A refusal is an attempt error: a fallback moves on to a client
  whose dialect takes the value.
  """
  use Switchboard.Case, async: true

  # Where each dialect puts `temperature: 0.5, stop: "END"`.
  @fields %{
    "openai" => %{"temperature" => 0.5, "stop" => "END"},
    "anthropic" => %{"temperature" => 0.5, "stop_sequences" => ["END"]},
    "google-ai" => %{
      "generationConfig" => %{"temperature" => 0.5, "stopSequences" => ["END"]}
    },
    "aws-bedrock" => %{
      "inferenceConfig" => %{"temperature" => 0.5, "stopSequences" => ["END"]}
    }
  }

  for {provider, fields} <- @fields do
    test "temperature and stop reach #{provider}'s own fields" do
      sc = scripted([%{content: "ok"}])
      reg = registry!(%{primary: "C", clients: [dialect_client("C", unquote(provider), sc)]})

      assert {:ok, %Response{content: "ok"}} =
               Switchboard.call(reg, "hi", options: %{temperature: 0.5, stop: "END"})

      assert [req] = requests(sc)

      for {key, value} <- unquote(Macro.escape(fields)) do
        assert req["json"][key] == value, "#{key}: #{inspect(req["json"])}"
      end

      if unquote(provider) != "openai", do: refute(Map.has_key?(req["json"], "stop"))
    end
  end

  test "openai-responses gets max_tokens as max_output_tokens" do
    sc = scripted([%{content: "ok"}])
    reg = registry!(%{primary: "R", clients: [dialect_client("R", "openai-responses", sc)]})

    assert {:ok, _} = Switchboard.call(reg, "hi", options: %{max_tokens: 9, top_p: 0.5})
    assert [req] = requests(sc)
    assert %{"max_output_tokens" => 9, "top_p" => 0.5} = req["json"]
    refute Map.has_key?(req["json"], "max_tokens")
  end

  for {provider, options, limit} <- [
        {"openai", %{temperature: 2.5}, "0 to 2"},
        {"openai", %{stop: ["a", "b", "c", "d", "e"]}, "at most 4"},
        {"anthropic", %{temperature: 1.5}, "0 to 1"},
        {"google-ai", %{stop: ["1", "2", "3", "4", "5", "6"]}, "at most 5"},
        {"aws-bedrock", %{top_p: 1.5}, "0 to 1"},
        {"openai-responses", %{stop: "END"}, "not supported"}
      ] do
    test "#{provider}: #{inspect(options)} is refused before any request" do
      sc = scripted([%{content: "ok", repeat: -1}])
      reg = registry!(%{primary: "C", clients: [dialect_client("C", unquote(provider), sc)]})
      [{key, _}] = Map.to_list(unquote(Macro.escape(options)))

      assert {:error, %Error{kind: :invalid_request, message: m}} =
               Switchboard.call(reg, "hi", options: unquote(Macro.escape(options)))

      assert m =~ ~s("#{key}")
      assert m =~ ~s(client "C")
      assert m =~ unquote(limit)
      assert requests(sc) == []
    end
  end

  test "ill-typed values are refused for the call, naming the option" do
    sc = scripted([%{content: "ok", repeat: -1}])
    reg = registry!(%{primary: "C", clients: [openai("C", sc)]})

    for {key, value} <- [stop: 3, stop: ["a", 1], max_tokens: 0, temperature: "warm"] do
      assert {:error, %Error{kind: :invalid_request, message: m, attempts: []}} =
               Switchboard.call(reg, "hi", options: %{key => value})

      assert m =~ ~s("#{key}")
    end

    assert requests(sc) == []
  end

  test "a client's own out-of-range value fails the registry" do
    sc = scripted([])

    assert {:error, %Error{kind: :config, message: m}} =
             Switchboard.Registry.new(%{clients: [anthropic("C", sc, %{temperature: 1.5})]})

    assert m =~ ~s("temperature")
    assert m =~ ~s(client "C")
  end

  test "a fallback moves from a client that refuses the value to one that takes it" do
    refuses = scripted([%{content: "never"}])
    takes = scripted([%{content: "ok"}])

    reg =
      fallback_registry!([
        anthropic("Claude", refuses),
        Switchboard.GoogleHelpers.google_ai("Gemini", takes)
      ])

    assert {:ok, %Response{client: "Gemini", content: "ok"} = resp} =
             Switchboard.call(reg, "hi", options: %{temperature: 1.5})

    assert [%Error{kind: :invalid_request, message: m}, nil] = Enum.map(resp.attempts, & &1.error)

    assert m =~ ~s(client "Claude")
    assert requests(refuses) == []
    assert [req] = requests(takes)
    assert req["json"]["generationConfig"] == %{"temperature" => 1.5}
  end

  test "a call's nil stop removes the client's" do
    sc = scripted([%{content: "ok"}])
    reg = registry!(%{primary: "C", clients: [anthropic("C", sc, %{stop: "X"})]})

    assert {:ok, _} = Switchboard.call(reg, "hi", options: %{stop: nil})
    assert [req] = requests(sc)
    refute Map.has_key?(req["json"], "stop_sequences")
    refute Map.has_key?(req["json"], "stop")
  end
end
