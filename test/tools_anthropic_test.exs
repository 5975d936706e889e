defmodule Switchboard.ToolsAnthropicTest do
  @moduledoc """
  Tools, structured output, rich prompts and reasoning on the Anthropic
  Messages dialect (`anthropic`, and Claude on `vertex-ai`), over real HTTP
  against the mock: the exact request bodies, tool calls and thinking read
  from plain and streamed answers, and a two-turn tool loop.
  """
  use Switchboard.Case, async: true
  import Switchboard.GoogleHelpers, only: [vertex: 3]
  alias Switchboard.{Chunk, ToolCall}

  @weather %{
    name: "get_weather",
    description: "Current weather in a city",
    parameters: %{
      type: "object",
      properties: %{city: %{type: "string"}},
      required: ["city"]
    }
  }
  @now %{name: "now"}

  @weather_wire %{
    "name" => "get_weather",
    "description" => "Current weather in a city",
    "input_schema" => %{
      "type" => "object",
      "properties" => %{"city" => %{"type" => "string"}},
      "required" => ["city"]
    }
  }
  @now_wire %{"name" => "now", "input_schema" => %{"type" => "object", "properties" => %{}}}

  @calls [
    %{id: "toolu_01A", name: "get_weather", arguments: %{city: "Paris", days: [1, 2]}},
    %{id: "toolu_01B", name: "now", arguments: %{}}
  ]

  defp claude(steps, options \\ %{}) do
    sc = scripted(steps)
    {sc, registry!(%{clients: [anthropic("Claude", sc, options)]})}
  end

  defp sent(sc), do: Enum.map(requests(sc), & &1["json"])

  defp final(chunks) do
    assert %Chunk{response: %Response{} = resp} = List.last(chunks)
    resp
  end

  describe "requests" do
    test "tools become input_schema tools; no tool_choice unless asked" do
      {sc, reg} = claude([%{}])

      assert {:ok, %Response{}} =
               Switchboard.call(reg, "Weather in Paris?", tools: [@weather, @now])

      assert sent(sc) == [
               %{
                 "model" => "claude-haiku-4-5-20251001",
                 "max_tokens" => 4096,
                 "messages" => [%{"role" => "user", "content" => "Weather in Paris?"}],
                 "tools" => [@weather_wire, @now_wire]
               }
             ]
    end

    test "each tool_choice in Anthropic's form" do
      {sc, reg} = claude(List.duplicate(%{}, 4))

      for choice <- [:auto, :required, :none, {:tool, "now"}] do
        assert {:ok, _} = Switchboard.call(reg, "x", tools: [@weather, @now], tool_choice: choice)
      end

      assert Enum.map(sent(sc), & &1["tool_choice"]) == [
               %{"type" => "auto"},
               %{"type" => "any"},
               %{"type" => "none"},
               %{"type" => "tool", "name" => "now"}
             ]

      assert Enum.all?(sent(sc), &(&1["tools"] == [@weather_wire, @now_wire]))
    end

    test "output_schema is a forced json_output tool; beside the app's tools it is one more" do
      schema = %{
        type: "object",
        properties: %{status: %{type: "string", enum: ["ok", "degraded"]}},
        required: ["status"]
      }

      schema_wire = %{
        "type" => "object",
        "properties" => %{"status" => %{"type" => "string", "enum" => ["ok", "degraded"]}},
        "required" => ["status"]
      }

      answer = %{tool_calls: [%{name: "json_output", arguments: %{status: "ok"}}]}
      {sc, reg} = claude([answer, answer])

      assert {:ok, %Response{}} = Switchboard.call(reg, "Health?", output_schema: schema)

      assert {:ok, %Response{}} =
               Switchboard.call(reg, "Health?",
                 output_schema: schema,
                 tools: [@now],
                 tool_choice: :auto
               )

      output_tool = %{
        "name" => "json_output",
        "description" =>
          "Give your final answer by calling this tool: its input is the answer, matching this schema.",
        "input_schema" => schema_wire
      }

      assert [forced, beside] = sent(sc)

      assert forced == %{
               "model" => "claude-haiku-4-5-20251001",
               "max_tokens" => 4096,
               "messages" => [%{"role" => "user", "content" => "Health?"}],
               "tools" => [output_tool],
               "tool_choice" => %{"type" => "tool", "name" => "json_output"}
             }

      assert beside["tools"] == [@now_wire, output_tool]
      assert beside["tool_choice"] == %{"type" => "auto"}
    end

    test "a tool of the output tool's name beside output_schema is refused before any HTTP" do
      {sc, reg} = claude([%{}])

      assert {:error, %Error{kind: :invalid_request, message: message}} =
               Switchboard.call(reg, "x",
                 tools: [%{name: "json_output"}],
                 output_schema: %{type: "object"}
               )

      assert message =~ "json_output"
      assert requests(sc) == []
    end

    test "images (base64 and URL) and PDF documents as content blocks" do
      {sc, reg} = claude([%{}])

      prompt = [
        %{
          role: "user",
          content: [
            %{type: "text", text: "Compare these."},
            %{type: "image", data: "iVBORw0KGgo=", media_type: "image/png"},
            %{type: "image_url", image_url: %{url: "https://example.com/cat.jpg"}},
            %{type: "document", data: "JVBERi0xLjQ=", media_type: "application/pdf"}
          ]
        }
      ]

      assert {:ok, _} = Switchboard.call(reg, prompt)

      assert [%{"messages" => [%{"role" => "user", "content" => blocks}]}] = sent(sc)

      assert blocks == [
               %{"type" => "text", "text" => "Compare these."},
               %{
                 "type" => "image",
                 "source" => %{
                   "type" => "base64",
                   "media_type" => "image/png",
                   "data" => "iVBORw0KGgo="
                 }
               },
               %{
                 "type" => "image",
                 "source" => %{"type" => "url", "url" => "https://example.com/cat.jpg"}
               },
               %{
                 "type" => "document",
                 "source" => %{
                   "type" => "base64",
                   "media_type" => "application/pdf",
                   "data" => "JVBERi0xLjQ="
                 }
               }
             ]
    end
  end

  describe "documents" do
    test "a document that is not a PDF is refused before any HTTP" do
      {sc, reg} = claude([%{content: "never"}])

      prompt = [
        %{
          role: "user",
          content: [
            %{type: "text", text: "Summarise."},
            %{type: "document", data: "aGVsbG8=", media_type: "text/plain"}
          ]
        }
      ]

      assert {:error, %Error{kind: :invalid_request, message: message}} =
               Switchboard.call(reg, prompt)

      assert message =~ "anthropic" and message =~ "text/plain" and message =~ "application/pdf"
      assert requests(sc) == []
    end
  end

  describe "answers" do
    test "tool calls from a plain answer, after its text" do
      {_sc, reg} = claude([%{content: "Let me check.", tool_calls: @calls}])

      assert {:ok, %Response{} = resp} =
               Switchboard.call(reg, "Weather and time?", tools: [@weather, @now])

      assert resp.content == "Let me check."
      assert resp.finish == :tool_calls
      assert resp.finish_reason == "tool_use"
      assert resp.reasoning == nil

      assert resp.tool_calls == [
               %ToolCall{
                 id: "toolu_01A",
                 name: "get_weather",
                 arguments: %{"city" => "Paris", "days" => [1, 2]}
               },
               %ToolCall{id: "toolu_01B", name: "now", arguments: %{}}
             ]
    end

    test "tool calls from a streamed answer: announced as they start, complete at the end" do
      {sc, reg} = claude([%{content: "Let me check.", tool_calls: @calls}])

      chunks = Enum.to_list(Switchboard.stream(reg, "Weather?", tools: [@weather, @now]))
      assert [%{"stream" => true}] = sent(sc)

      started = for c <- chunks, call <- c.tool_calls, do: call

      assert started == [
               %ToolCall{id: "toolu_01A", name: "get_weather", arguments: nil},
               %ToolCall{id: "toolu_01B", name: "now", arguments: nil}
             ]

      assert Enum.map_join(chunks, & &1.text) == "Let me check."

      resp = final(chunks)
      assert resp.content == "Let me check."
      assert resp.finish == :tool_calls
      assert resp.finish_reason == "tool_use"

      assert [%ToolCall{arguments: %{"city" => "Paris", "days" => [1, 2]}}, %ToolCall{}] =
               resp.tool_calls
    end

    test "a call-only answer has no text, and ids the mock makes up travel back" do
      {_sc, reg} = claude([%{tool_calls: [%{name: "now", arguments: %{}}]}])

      assert {:ok, %Response{content: "", tool_calls: [%ToolCall{id: "call_mock_0"}]}} =
               Switchboard.call(reg, "Time?", tools: [@now])
    end

    test "tool input that is not a JSON object is a :bad_response naming the tool" do
      {_sc, reg} =
        claude([
          %{tool_calls: [%{name: "get_weather", arguments: "{\"city\": \"Par"}]},
          %{tool_calls: [%{name: "get_weather", arguments: "{\"city\": \"Par"}]}
        ])

      assert {:error, %Error{kind: :bad_response, message: plain}} =
               Switchboard.call(reg, "x", tools: [@weather])

      assert plain =~ ~s("get_weather")

      assert {:error, %Error{kind: :bad_response, message: streamed}} =
               Switchboard.stream_to(reg, "x", tools: [@weather]) |> collect() |> elem(1)

      assert streamed =~ ~s("get_weather")
    end

    test "thinking is reasoning, kept apart from the text, plain and streamed" do
      step = %{reasoning: "12 * 7 = 70 + 14 = 84.", content: "84"}
      {_sc, reg} = claude([step, step])

      assert {:ok, %Response{content: "84", reasoning: "12 * 7 = 70 + 14 = 84.", finish: :stop}} =
               Switchboard.call(reg, "12*7?")

      chunks = Enum.to_list(Switchboard.stream(reg, "12*7?"))
      assert Enum.map_join(chunks, & &1.reasoning) == "12 * 7 = 70 + 14 = 84."
      assert Enum.map_join(chunks, & &1.text) == "84"
      # Reasoning comes first and never in the same chunk as answer text.
      assert Enum.all?(chunks, &(&1.reasoning == "" or &1.text == ""))
      resp = final(chunks)
      assert {resp.content, resp.reasoning} == {"84", "12 * 7 = 70 + 14 = 84."}
    end

    test "a refusal is not a silent empty success: finish is :content_filter" do
      {_sc, reg} = claude([%{content: "", finish_reason: "refusal"}])

      assert {:ok, %Response{content: "", finish: :content_filter, finish_reason: "refusal"}} =
               Switchboard.call(reg, "x")
    end
  end

  test "a two-turn loop: tool_use blocks, then one user turn of tool_result blocks" do
    {sc, reg} =
      claude([
        %{content: "Let me check.", tool_calls: @calls},
        %{content: "Sunny, 21°C in Paris at noon."}
      ])

    question = [%{role: "system", content: "Be brief."}, %{role: "user", content: "Weather?"}]
    tools = [@weather, @now]

    assert {:ok, %Response{finish: :tool_calls} = first} =
             Switchboard.call(reg, question, tools: tools)

    results =
      for call <- first.tool_calls do
        case call.name do
          "get_weather" -> %{role: "tool", tool_call_id: call.id, content: %{temp_c: 21}}
          "now" -> %{role: "tool", tool_call_id: call.id, content: "12:00"}
        end
      end

    history =
      question ++
        [%{role: "assistant", content: first.content, tool_calls: first.tool_calls}] ++ results

    assert {:ok, %Response{content: "Sunny, 21°C in Paris at noon.", finish: :stop}} =
             Switchboard.call(reg, history, tools: tools)

    assert [_, second] = sent(sc)
    assert second["system"] == "Be brief."

    assert second["messages"] == [
             %{"role" => "user", "content" => "Weather?"},
             %{
               "role" => "assistant",
               "content" => [
                 %{"type" => "text", "text" => "Let me check."},
                 %{
                   "type" => "tool_use",
                   "id" => "toolu_01A",
                   "name" => "get_weather",
                   "input" => %{"city" => "Paris", "days" => [1, 2]}
                 },
                 %{"type" => "tool_use", "id" => "toolu_01B", "name" => "now", "input" => %{}}
               ]
             },
             %{
               "role" => "user",
               "content" => [
                 %{
                   "type" => "tool_result",
                   "tool_use_id" => "toolu_01A",
                   "content" => ~s({"temp_c":21})
                 },
                 %{"type" => "tool_result", "tool_use_id" => "toolu_01B", "content" => "12:00"}
               ]
             }
           ]
  end

  test "Claude on Vertex: the same tools, tool calls and thinking" do
    sc =
      scripted([
        %{reasoning: "Paris.", tool_calls: [hd(@calls)]},
        %{reasoning: "Paris.", tool_calls: [hd(@calls)]}
      ])

    reg =
      registry!(%{
        clients: [
          vertex("V", sc, %{
            model: "claude-sonnet-4@20250514",
            location: "us-east5",
            query_params: %{key: "AQ.express"}
          })
        ]
      })

    assert {:ok, %Response{} = resp} =
             Switchboard.call(reg, "Weather?", tools: [@weather], tool_choice: :required)

    assert resp.reasoning == "Paris."
    assert resp.finish == :tool_calls

    assert [%ToolCall{id: "toolu_01A", name: "get_weather", arguments: %{"city" => "Paris"}}] =
             resp.tool_calls

    chunks = Enum.to_list(Switchboard.stream(reg, "Weather?", tools: [@weather]))

    assert [%ToolCall{name: "get_weather", arguments: nil}] =
             Enum.flat_map(chunks, & &1.tool_calls)

    assert Enum.map_join(chunks, & &1.reasoning) == "Paris."
    assert [%ToolCall{arguments: %{"days" => [1, 2]}}] = final(chunks).tool_calls

    assert [plain, streamed] = sent(sc)
    assert plain["anthropic_version"] == "vertex-2023-10-16"
    assert plain["tools"] == [@weather_wire]
    assert plain["tool_choice"] == %{"type" => "any"}
    assert streamed["stream"] == true
  end
end
