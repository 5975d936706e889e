defmodule Switchboard.ToolsFallbackTest do
  @moduledoc """
  A tool-calling loop whose first turn one provider answers and whose
  second turn, after that provider fails, a fallback of another provider
  answers: the second provider must get the whole history (the first
  provider's call, with its id, and the app's result) in its own wire form.
  """
  use Switchboard.Case, async: true

  @tools [
    %{
      name: "beam_metrics",
      description: "Reads a live metric",
      parameters: %{
        type: "object",
        properties: %{metric: %{type: "string"}},
        required: ["metric"]
      }
    }
  ]

  setup do
    Switchboard.AwsEnv.isolate!()
    :ok
  end

  # Each provider answers turn one once and turn two once, after the
  # provider before it in this ring.
  @providers ~w(openai anthropic google-ai aws-bedrock openai-responses)

  for {first, second} <- Enum.zip(@providers, tl(@providers) ++ [hd(@providers)]) do
    test "turn one on #{first}, turn two on a fallback to #{second}" do
      first = unquote(first)
      second = unquote(second)
      sc_a = scripted([%{tool_calls: [%{name: "beam_metrics", arguments: %{metric: "memory"}}]}])
      sc_b = scripted([%{content: "Memory is fine."}])

      reg =
        fallback_registry!([dialect_client("A", first, sc_a), dialect_client("B", second, sc_b)])

      question = "How is memory?"
      assert {:ok, turn1} = Switchboard.call(reg, question, tools: @tools)
      assert turn1.client == "A" and turn1.finish == :tool_calls

      assert [%Switchboard.ToolCall{name: "beam_metrics", arguments: args} = call] =
               turn1.tool_calls

      assert args == %{"metric" => "memory"}
      assert is_binary(call.id) and call.id != ""

      # A fails from now on; the fallback takes the second turn.
      :ok = Switchboard.Mock.script(mock(), sc_a, [%{status: 503}])

      history = [
        %{role: "user", content: question},
        %{role: "assistant", content: turn1.content, tool_calls: turn1.tool_calls},
        %{role: "tool", tool_call_id: call.id, content: %{"total" => 41_943_040}}
      ]

      assert {:ok, turn2} = Switchboard.call(reg, history, tools: @tools)
      assert turn2.client == "B" and turn2.content == "Memory is fine."
      assert [%{error: %{kind: :overloaded}}, %{error: nil}] = turn2.attempts

      assert [request] = requests(sc_b)
      sent = history_sent(second, request["json"])
      assert sent.calls == [{call_id(second, call.id), "beam_metrics", %{"metric" => "memory"}}]
      assert [{result_for, result}] = sent.results
      assert result_for == call_id(second, call.id)
      assert result =~ "41943040"
    end
  end

  # Gemini's wire has no call ids: calls and results are matched by name.
  defp call_id("google-ai", _id), do: "beam_metrics"
  defp call_id(_provider, id), do: id

  # The tool calls and tool results a request carries, as
  # {id, name, arguments} and {id, result text}.
  defp history_sent("openai", body) do
    messages = body["messages"]

    %{
      calls:
        for %{"role" => "assistant", "tool_calls" => calls} <- messages,
            %{"id" => id, "function" => f} <- calls do
          {id, f["name"], Switchboard.Mock.decode_json(mock(), f["arguments"])}
        end,
      results:
        for %{"role" => "tool"} = m <- messages do
          {m["tool_call_id"], m["content"]}
        end
    }
  end

  defp history_sent("anthropic", body) do
    blocks =
      for %{"content" => [_ | _] = content} <- body["messages"], block <- content, do: block

    %{
      calls: for(%{"type" => "tool_use"} = b <- blocks, do: {b["id"], b["name"], b["input"]}),
      results:
        for %{"type" => "tool_result"} = b <- blocks do
          {b["tool_use_id"], text_of(b["content"])}
        end
    }
  end

  defp history_sent("google-ai", body) do
    parts = for %{"parts" => parts} <- body["contents"], part <- parts, do: part

    %{
      calls: for(%{"functionCall" => c} <- parts, do: {c["name"], c["name"], c["args"]}),
      results:
        for %{"functionResponse" => r} <- parts do
          {r["name"], text_of(r["response"])}
        end
    }
  end

  defp history_sent("aws-bedrock", body) do
    blocks = for %{"content" => content} <- body["messages"], block <- content, do: block

    %{
      calls:
        for %{"toolUse" => u} <- blocks do
          {u["toolUseId"], u["name"], u["input"]}
        end,
      results:
        for %{"toolResult" => r} <- blocks do
          {r["toolUseId"], text_of(r["content"])}
        end
    }
  end

  defp history_sent("openai-responses", body) do
    items = body["input"]

    %{
      calls:
        for %{"type" => "function_call"} = i <- items do
          {i["call_id"], i["name"], Switchboard.Mock.decode_json(mock(), i["arguments"])}
        end,
      results:
        for(%{"type" => "function_call_output"} = i <- items, do: {i["call_id"], i["output"]})
    }
  end

  # A result as text, whatever wrapping the provider's form has.
  defp text_of(text) when is_binary(text), do: text
  defp text_of(other), do: inspect(other, limit: :infinity)
end
