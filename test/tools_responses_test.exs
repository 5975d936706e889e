defmodule Switchboard.ToolsResponsesTest do
  @moduledoc """
  Tools, structured output, rich prompts and reasoning on the
  `openai-responses` provider (OpenAI Responses API), over real HTTP
  against the mock: the exact request bodies, tool calls read from plain
  and streamed answers, a two-turn tool loop, and reasoning summaries kept
  apart from the answer.
  """
  use Switchboard.Case, async: true

  alias Switchboard.{Chunk, ToolCall}

  defp responses(name, sc, options) do
    %{
      name: name,
      provider: "openai-responses",
      options:
        Map.merge(
          %{
            model: "gpt-5",
            api_key: "sk-test",
            base_url: Mock.base_url(mock(), sc, "openai-responses")
          },
          options
        )
    }
  end

  defp registry(sc, options \\ %{}), do: registry!(%{clients: [responses("R", sc, options)]})

  # A closed schema: strict mode takes it.
  @metric_params %{
    "type" => "object",
    "properties" => %{"name" => %{"type" => "string", "enum" => ["memory", "processes"]}},
    "required" => ["name"],
    "additionalProperties" => false
  }

  @tools [
    %{name: "get_metric", description: "Reads a live BEAM metric", parameters: @metric_params},
    %{name: "now", parameters: %{type: "object", properties: %{}}}
  ]

  @weather_calls [
    %{id: "call_A", name: "get_weather", arguments: %{location: "Paris", unit: "celsius"}},
    %{name: "get_time", arguments: %{}}
  ]

  test "a document that is not a PDF is refused before any HTTP" do
    sc = scripted([%{content: "never"}])
    reg = registry(sc)

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

    assert message =~ "openai-responses" and message =~ "text/plain" and
             message =~ "application/pdf"

    assert requests(sc) == []
  end

  test "tools, tool_choice, output_schema, an image and a document: the exact request body" do
    sc = scripted([%{content: ~s({"status": "ok", "notes": "fine"})}])
    reg = registry(sc, %{text: %{verbosity: "low"}})

    report = %{
      "type" => "object",
      "properties" => %{
        "status" => %{"type" => "string", "enum" => ["ok", "degraded"]},
        "notes" => %{"type" => "string"}
      },
      "required" => ["status", "notes"],
      "additionalProperties" => false
    }

    prompt = [
      %{role: "system", content: "You watch a BEAM node."},
      %{
        role: "user",
        content: [
          %{type: "text", text: "How is it doing? Chart and runbook attached."},
          %{type: "image", data: "iVBORw0KGgo=", media_type: "image/png"},
          %{type: "image", url: "https://example.com/chart.png"},
          %{type: "document", data: "JVBERi0xLjQ=", media_type: "application/pdf"}
        ]
      }
    ]

    assert {:ok, %Response{}} =
             Switchboard.call(reg, prompt,
               tools: @tools,
               tool_choice: {:tool, "get_metric"},
               output_schema: report
             )

    assert [%{"json" => json}] = requests(sc)

    assert json == %{
             "model" => "gpt-5",
             "text" => %{
               "verbosity" => "low",
               "format" => %{
                 "type" => "json_schema",
                 "name" => "output",
                 "schema" => report,
                 "strict" => true
               }
             },
             "tools" => [
               %{
                 "type" => "function",
                 "name" => "get_metric",
                 "description" => "Reads a live BEAM metric",
                 "parameters" => @metric_params,
                 "strict" => true
               },
               %{
                 "type" => "function",
                 "name" => "now",
                 "parameters" => %{"type" => "object", "properties" => %{}},
                 "strict" => false
               }
             ],
             "tool_choice" => %{"type" => "function", "name" => "get_metric"},
             "input" => [
               %{
                 "role" => "system",
                 "content" => [%{"type" => "input_text", "text" => "You watch a BEAM node."}]
               },
               %{
                 "role" => "user",
                 "content" => [
                   %{
                     "type" => "input_text",
                     "text" => "How is it doing? Chart and runbook attached."
                   },
                   %{
                     "type" => "input_image",
                     "image_url" => "data:image/png;base64,iVBORw0KGgo=",
                     "detail" => "auto"
                   },
                   %{
                     "type" => "input_image",
                     "image_url" => "https://example.com/chart.png",
                     "detail" => "auto"
                   },
                   %{
                     "type" => "input_file",
                     "filename" => "document.pdf",
                     "file_data" => "data:application/pdf;base64,JVBERi0xLjQ="
                   }
                 ]
               }
             ]
           }
  end

  test "tool_choice :auto, :none and :required; a schema strict mode cannot take is not strict" do
    # Every call answers JSON the open schema takes.
    sc = scripted([%{content: ~s({"status": "ok"}), repeat: -1}])
    reg = registry(sc)

    for choice <- [:auto, :none, :required] do
      assert {:ok, _} = Switchboard.call(reg, "hi", tools: @tools, tool_choice: choice)
    end

    open_schema = %{"type" => "object", "properties" => %{"status" => %{"type" => "string"}}}
    assert {:ok, _} = Switchboard.call(reg, "hi", tools: @tools, output_schema: open_schema)
    assert {:ok, _} = Switchboard.call(reg, "hi")

    assert [auto, none, required, default, plain] = Enum.map(requests(sc), & &1["json"])
    assert {auto["tool_choice"], none["tool_choice"]} == {"auto", "none"}
    assert required["tool_choice"] == "required"
    refute Map.has_key?(default, "tool_choice")

    assert default["text"] == %{
             "format" => %{
               "type" => "json_schema",
               "name" => "output",
               "schema" => open_schema,
               "strict" => false
             }
           }

    refute Map.has_key?(plain, "tools") or Map.has_key?(plain, "text")

    # output_schema and a text.format option would fight: refused before HTTP.
    assert {:error, %Error{kind: :invalid_request, message: msg}} =
             Switchboard.call(reg, "hi",
               output_schema: open_schema,
               options: %{text: %{format: %{type: "json_object"}}}
             )

    assert msg =~ "output_schema"
    assert length(requests(sc)) == 5
  end

  test "tool calls from a plain answer: call_id is the id, arguments decoded, finish :tool_calls" do
    sc = scripted([%{tool_calls: @weather_calls, usage: %{reasoning_tokens: 6}}])

    assert {:ok, %Response{} = resp} = Switchboard.call(registry(sc), "Weather?", tools: @tools)

    assert resp.tool_calls == [
             %ToolCall{
               id: "call_A",
               name: "get_weather",
               arguments: %{"location" => "Paris", "unit" => "celsius"}
             },
             %ToolCall{id: "call_mock_1", name: "get_time", arguments: %{}}
           ]

    assert resp.content == ""
    assert resp.finish == :tool_calls
    assert resp.finish_reason == "stop"
    assert resp.usage.reasoning_tokens == 6
  end

  test "tool calls streamed: chunks announce them, the final response has their arguments" do
    sc = scripted([%{content: "Let me check.", tool_calls: @weather_calls}])

    chunks = Enum.to_list(Switchboard.stream(registry(sc), "Weather?", tools: @tools))
    assert %Chunk{response: %Response{} = resp} = List.last(chunks)

    assert chunks |> Enum.flat_map(& &1.tool_calls) == [
             %ToolCall{id: "call_A", name: "get_weather", arguments: nil},
             %ToolCall{id: "call_mock_1", name: "get_time", arguments: nil}
           ]

    assert chunks |> Enum.map(& &1.text) |> Enum.join() == "Let me check."
    assert resp.content == "Let me check."

    assert resp.tool_calls == [
             %ToolCall{
               id: "call_A",
               name: "get_weather",
               arguments: %{"location" => "Paris", "unit" => "celsius"}
             },
             %ToolCall{id: "call_mock_1", name: "get_time", arguments: %{}}
           ]

    assert resp.finish == :tool_calls
    assert [%{"json" => %{"stream" => true, "tools" => [_, _]}}] = requests(sc)
  end

  test "arguments that are not a JSON object are a :bad_response naming the tool" do
    sc =
      scripted([
        %{tool_calls: [%{id: "c1", name: "add", arguments: "{\"a\": 2,"}]},
        %{tool_calls: [%{id: "c1", name: "add", arguments: "[2, 3]"}]}
      ])

    reg = registry(sc)

    assert {:error, %Error{kind: :bad_response, message: msg}} =
             Switchboard.call(reg, "add", tools: @tools)

    assert msg =~ ~s("add")

    error =
      assert_raise Error, fn -> Enum.to_list(Switchboard.stream(reg, "add", tools: @tools)) end

    assert error.kind == :bad_response and error.message =~ ~s("add")
  end

  test "a two-turn loop: the second request carries function_call then function_call_output" do
    sc =
      scripted([
        %{tool_calls: [%{id: "call_1", name: "get_metric", arguments: %{name: "memory"}}]},
        %{content: "Memory is fine: 42 MB."}
      ])

    reg = registry(sc)
    question = "How is memory?"

    assert {:ok, %Response{tool_calls: [call]} = first} =
             Switchboard.call(reg, question, tools: @tools)

    assert call == %ToolCall{id: "call_1", name: "get_metric", arguments: %{"name" => "memory"}}

    history = [
      %{role: "user", content: question},
      %{role: "assistant", content: first.content, tool_calls: first.tool_calls},
      %{role: "tool", tool_call_id: call.id, content: %{"total_mb" => 42}}
    ]

    assert {:ok, %Response{content: "Memory is fine: 42 MB.", finish: :stop}} =
             Switchboard.call(reg, history, tools: @tools)

    assert [_, %{"json" => second}] = requests(sc)

    assert second["input"] == [
             %{"role" => "user", "content" => [%{"type" => "input_text", "text" => question}]},
             %{
               "type" => "function_call",
               "call_id" => "call_1",
               "name" => "get_metric",
               "arguments" => ~s({"name":"memory"})
             },
             %{
               "type" => "function_call_output",
               "call_id" => "call_1",
               "output" => ~s({"total_mb":42})
             }
           ]

    # With text beside the call, the message item comes first.
    history = [
      hd(history),
      %{role: "assistant", content: "Checking.", tool_calls: [call]},
      %{role: "tool", tool_call_id: "call_1", content: "42 MB"}
    ]

    sc2 = scripted([%{content: "ok"}])
    assert {:ok, _} = Switchboard.call(registry(sc2), history, tools: @tools)
    assert [%{"json" => %{"input" => [_, message, function_call, output]}}] = requests(sc2)

    assert message == %{
             "role" => "assistant",
             "content" => [%{"type" => "output_text", "text" => "Checking."}]
           }

    assert function_call["type"] == "function_call"

    assert output == %{
             "type" => "function_call_output",
             "call_id" => "call_1",
             "output" => "42 MB"
           }
  end

  test "a reasoning summary is kept apart from the answer, plain and streamed" do
    step = %{
      reasoning: "The user wants a sum. 2 plus 3 is 5.",
      content: "5",
      usage: %{output_tokens: 40, reasoning_tokens: 32}
    }

    sc = scripted([step, step])
    reg = registry(sc)

    assert {:ok, %Response{} = resp} = Switchboard.call(reg, "2+3?")
    assert resp.content == "5"
    assert resp.reasoning == "The user wants a sum. 2 plus 3 is 5."
    assert resp.usage.reasoning_tokens == 32
    assert resp.usage.output_tokens == 40

    chunks = Enum.to_list(Switchboard.stream(reg, "2+3?"))
    assert %Chunk{response: %Response{} = streamed} = List.last(chunks)
    assert chunks |> Enum.map(& &1.reasoning) |> Enum.join() == resp.reasoning
    assert chunks |> Enum.map(& &1.text) |> Enum.join() == "5"
    # Reasoning arrives before the answer, in chunks of its own.
    assert Enum.find_index(chunks, &(&1.reasoning != "")) <
             Enum.find_index(chunks, &(&1.text != ""))

    assert streamed.reasoning == resp.reasoning
    assert streamed.content == "5"
    assert streamed.usage.reasoning_tokens == 32

    # None scripted: no reasoning, but the count the API reports (0).
    sc = scripted([%{content: "hi"}])
    assert {:ok, %Response{reasoning: nil} = plain} = Switchboard.call(registry(sc), "hi")
    assert plain.usage.reasoning_tokens == 0
  end

  test "a refusal is the answer's text with finish :content_filter; an unknown output item is a :bad_response" do
    refusal = ~S"""
    {"status": "completed", "model": "gpt-5", "output": [
      {"type": "message", "role": "assistant",
       "content": [{"type": "refusal", "refusal": "I can't help with that."}]}
    ]}
    """

    unknown = ~S"""
    {"status": "completed", "output": [
      {"type": "image_generation_call", "id": "ig_1", "result": "iVBOR"},
      {"type": "message", "content": [{"type": "output_text", "text": "Here it is."}]}
    ]}
    """

    sc = scripted([%{body: refusal}, %{body: unknown}])
    reg = registry(sc)

    assert {:ok, %Response{} = resp} = Switchboard.call(reg, "hi")
    assert resp.content == "I can't help with that."
    assert resp.finish_reason == "refusal"
    assert resp.finish == :content_filter

    assert {:error, %Error{kind: :bad_response, message: msg}} = Switchboard.call(reg, "draw")
    assert msg =~ "image_generation_call"
  end
end
