defmodule Switchboard.ToolsGeminiTest do
  @moduledoc """
  Tools, tool choice, output schemas, tool turns and thoughts on the Gemini
  dialect (`google-ai`, and Gemini on `vertex-ai`), over real HTTP against
  the mock: the exact request bodies, the tool calls and reasoning users
  see, plain and streamed, and a tool loop that sends results back.
  """
  use Switchboard.Case, async: true
  import Switchboard.GoogleHelpers
  alias Switchboard.{Chunk, ToolCall}

  @weather %{
    name: "get_weather",
    description: "Current weather for a city",
    parameters: %{
      type: "object",
      properties: %{city: %{type: "string"}, unit: %{enum: ["c", "f"]}},
      required: ["city"],
      additionalProperties: false
    }
  }
  @now %{name: "now", description: "The time"}
  @tools [@weather, @now]

  # What each tool declaration is sent as.
  @declarations [
    %{
      "name" => "get_weather",
      "description" => "Current weather for a city",
      "parametersJsonSchema" => %{
        "type" => "object",
        "properties" => %{
          "city" => %{"type" => "string"},
          "unit" => %{"enum" => ["c", "f"]}
        },
        "required" => ["city"],
        "additionalProperties" => false
      }
    },
    %{
      "name" => "now",
      "description" => "The time",
      "parametersJsonSchema" => %{"type" => "object", "properties" => %{}}
    }
  ]

  # What the mock signs the first call of an answer with, as thinking models do.
  @signed "CiQBbW9jay10aG91Z2h0LXNpZ25hdHVyZQ=="

  describe "requests" do
    test "tools, a forced tool, generation options, images and a document: the exact body" do
      sc = scripted([%{tool_calls: [%{name: "get_weather", arguments: %{city: "Paris"}}]}])

      reg =
        registry!(%{
          clients: [
            google_ai("G", sc, %{
              temperature: 0.2,
              generationConfig: %{topK: 3},
              media_url_handler: %{image: "send_url"}
            })
          ]
        })

      prompt = [
        %{role: "system", content: "Be brief."},
        %{
          role: "user",
          content: [
            %{type: "text", text: "Weather where this photo was taken?"},
            %{type: "image", data: "iVBORw0K", media_type: "image/png"},
            %{type: "image_url", image_url: "https://example.com/street.jpeg"},
            %{type: "image_url", image_url: "gs://bucket/scan"},
            %{type: "document", data: "JVBERi0x"}
          ]
        }
      ]

      assert {:ok, %Response{} = resp} =
               Switchboard.call(reg, prompt,
                 tools: @tools,
                 tool_choice: {:tool, "get_weather"},
                 options: %{max_tokens: 100}
               )

      assert [req] = requests(sc)
      assert req["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"

      assert req["json"] == %{
               "systemInstruction" => %{"parts" => [%{"text" => "Be brief."}]},
               "contents" => [
                 %{
                   "role" => "user",
                   "parts" => [
                     %{"text" => "Weather where this photo was taken?"},
                     %{"inlineData" => %{"mimeType" => "image/png", "data" => "iVBORw0K"}},
                     %{
                       "fileData" => %{
                         "mimeType" => "image/jpeg",
                         "fileUri" => "https://example.com/street.jpeg"
                       }
                     },
                     %{"fileData" => %{"fileUri" => "gs://bucket/scan"}},
                     %{"inlineData" => %{"mimeType" => "application/pdf", "data" => "JVBERi0x"}}
                   ]
                 }
               ],
               "tools" => [%{"functionDeclarations" => @declarations}],
               "toolConfig" => %{
                 "functionCallingConfig" => %{
                   "mode" => "ANY",
                   "allowedFunctionNames" => ["get_weather"]
                 }
               },
               "generationConfig" => %{
                 "topK" => 3,
                 "temperature" => 0.2,
                 "maxOutputTokens" => 100
               }
             }

      assert resp.content == ""
      assert resp.finish == :tool_calls
      assert resp.finish_reason == "STOP"

      assert resp.tool_calls == [
               %ToolCall{
                 id: "call_sb_0",
                 name: "get_weather",
                 arguments: %{"city" => "Paris"},
                 signature: @signed
               }
             ]
    end

    test "each tool choice is a functionCallingConfig mode; no choice, no toolConfig" do
      sc = scripted(List.duplicate(%{content: "ok"}, 4))
      reg = registry!(%{clients: [google_ai("G", sc)]})

      for choice <- [:auto, :none, :required] do
        assert {:ok, _} = Switchboard.call(reg, "x", tools: @tools, tool_choice: choice)
      end

      assert {:ok, _} = Switchboard.call(reg, "x", tools: [@now])

      assert [auto, none, required, default] = requests(sc)
      assert auto["json"]["toolConfig"] == %{"functionCallingConfig" => %{"mode" => "AUTO"}}
      assert none["json"]["toolConfig"] == %{"functionCallingConfig" => %{"mode" => "NONE"}}
      assert required["json"]["toolConfig"] == %{"functionCallingConfig" => %{"mode" => "ANY"}}
      refute Map.has_key?(default["json"], "toolConfig")
      assert default["json"]["tools"] == [%{"functionDeclarations" => [List.last(@declarations)]}]
    end

    test "an output schema is responseMimeType + responseJsonSchema, merged into generationConfig" do
      sc = scripted([%{content: ~s({"name":"Ada","age":36})}])

      reg =
        registry!(%{
          clients: [
            google_ai("G", sc, %{
              generationConfig: %{responseSchema: %{type: "STRING"}, topP: 0.9}
            })
          ]
        })

      schema = %{
        type: "object",
        properties: %{name: %{type: "string"}, age: %{type: "integer", minimum: 0}},
        required: ["name", "age"],
        additionalProperties: false
      }

      assert {:ok, resp} =
               Switchboard.call(reg, "A profile",
                 output_schema: schema,
                 options: %{temperature: 0}
               )

      assert [req] = requests(sc)

      assert req["json"]["generationConfig"] == %{
               "topP" => 0.9,
               "temperature" => 0,
               "responseMimeType" => "application/json",
               "responseJsonSchema" => %{
                 "type" => "object",
                 "properties" => %{
                   "name" => %{"type" => "string"},
                   "age" => %{"type" => "integer", "minimum" => 0}
                 },
                 "required" => ["name", "age"],
                 "additionalProperties" => false
               }
             }

      refute Map.has_key?(req["json"], "tools")
      assert resp.content == ~s({"name":"Ada","age":36})
    end

    test "a tool result whose call cannot be found is an :invalid_request error, nothing sent" do
      sc = scenario()
      reg = registry!(%{clients: [google_ai("G", sc)]})

      prompt = [
        %{role: "user", content: "x"},
        %{role: "tool", tool_call_id: "call_unknown", content: "42"}
      ]

      assert {:error, %Error{kind: :invalid_request, message: message}} =
               Switchboard.call(reg, prompt, tools: @tools)

      assert message =~ "call_unknown"
      assert requests(sc) == []
    end
  end

  describe "answers" do
    test "several calls: made-up ids in order, Gemini's own id kept, text apart" do
      sc =
        scripted([
          %{
            content: "Checking.",
            tool_calls: [
              %{name: "get_weather", arguments: %{city: "Paris", unit: "c"}},
              %{name: "now"},
              %{id: "fc-own", name: "get_weather", arguments: %{city: "Oslo"}}
            ]
          }
        ])

      reg = registry!(%{clients: [google_ai("G", sc)]})
      assert {:ok, resp} = Switchboard.call(reg, "x", tools: @tools)

      assert resp.content == "Checking."
      assert resp.finish == :tool_calls

      assert resp.tool_calls == [
               %ToolCall{
                 id: "call_sb_0",
                 name: "get_weather",
                 arguments: %{"city" => "Paris", "unit" => "c"},
                 signature: @signed
               },
               %ToolCall{id: "call_sb_1", name: "now", arguments: %{}},
               %ToolCall{id: "fc-own", name: "get_weather", arguments: %{"city" => "Oslo"}}
             ]
    end

    test "arguments that are not an object are a :bad_response naming the tool" do
      sc = scripted([%{tool_calls: [%{name: "get_weather", arguments: "[1, 2]"}]}])
      reg = registry!(%{clients: [google_ai("G", sc)]})

      assert {:error, %Error{kind: :bad_response, message: message}} =
               Switchboard.call(reg, "x", tools: @tools)

      assert message =~ "get_weather"
    end

    test "thoughts are reasoning, not content; thinking tokens are reasoning and output" do
      sc =
        scripted([
          %{
            content: "42",
            reasoning: "Six times seven.",
            usage: %{input_tokens: 5, output_tokens: 2, thoughts_tokens: 9}
          },
          %{content: "It is 42", thoughts: "Recall the book.", usage: %{thoughts_tokens: 4}}
        ])

      reg = registry!(%{clients: [google_ai("G", sc)]})

      assert {:ok, resp} = Switchboard.call(reg, "6*7?")
      assert resp.content == "42"
      assert resp.reasoning == "Six times seven."

      assert resp.usage == %Usage{
               input_tokens: 5,
               output_tokens: 11,
               total_tokens: 16,
               reasoning_tokens: 9
             }

      chunks = reg |> Switchboard.stream("Answer?") |> Enum.to_list()
      assert Enum.map_join(chunks, & &1.reasoning) == "Recall the book."
      assert Enum.map_join(chunks, & &1.text) == "It is 42"
      refute Enum.any?(chunks, &(&1.text =~ "Recall"))
      assert %Chunk{response: %Response{} = streamed} = List.last(chunks)
      assert streamed.reasoning == "Recall the book."
      assert streamed.content == "It is 42"
      assert streamed.usage.reasoning_tokens == 4
      assert streamed.usage.output_tokens == 8 + 4
    end

    test "streamed calls are announced in a chunk and complete on the response" do
      sc =
        scripted([
          %{
            content: "Let me check.",
            reasoning: "Two lookups.",
            tool_calls: [
              %{name: "get_weather", arguments: %{city: "Paris"}},
              %{name: "now"}
            ]
          }
        ])

      reg = registry!(%{clients: [google_ai("G", sc)]})
      chunks = reg |> Switchboard.stream("x", tools: @tools) |> Enum.to_list()

      assert [req] = requests(sc)
      assert req["path"] == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
      assert req["json"]["tools"] == [%{"functionDeclarations" => @declarations}]

      announced = Enum.flat_map(chunks, & &1.tool_calls)

      assert announced == [
               %ToolCall{id: "call_sb_0", name: "get_weather", arguments: nil},
               %ToolCall{id: "call_sb_1", name: "now", arguments: nil}
             ]

      assert Enum.map_join(chunks, & &1.text) == "Let me check."
      assert Enum.map_join(chunks, & &1.reasoning) == "Two lookups."

      assert %Chunk{response: %Response{} = resp} = List.last(chunks)
      assert resp.finish == :tool_calls

      assert resp.tool_calls == [
               %ToolCall{
                 id: "call_sb_0",
                 name: "get_weather",
                 arguments: %{"city" => "Paris"},
                 signature: @signed
               },
               %ToolCall{id: "call_sb_1", name: "now", arguments: %{}}
             ]
    end
  end

  describe "a tool loop" do
    test "calls go back as functionCall parts and results as functionResponse parts by name" do
      sc =
        scripted([
          %{
            tool_calls: [
              %{name: "get_weather", arguments: %{city: "Paris"}},
              %{name: "now"}
            ]
          },
          # The next answer's made-up ids start over: call_sb_0 again.
          %{content: "One more look.", tool_calls: [%{name: "now"}]},
          %{content: "21 °C in Paris at 12:01."}
        ])

      reg = registry!(%{clients: [google_ai("G", sc)]})
      run = fn name -> if name == "get_weather", do: %{temp: 21}, else: "noon" end

      turn1 = [%{role: "user", content: "Weather in Paris, and the time?"}]
      assert {:ok, r1} = Switchboard.call(reg, turn1, tools: @tools)
      assert Enum.map(r1.tool_calls, & &1.id) == ["call_sb_0", "call_sb_1"]

      turn2 =
        turn1 ++
          [%{role: "assistant", content: r1.content, tool_calls: r1.tool_calls}] ++
          for(
            tc <- r1.tool_calls,
            do: %{role: "tool", tool_call_id: tc.id, content: run.(tc.name)}
          )

      assert {:ok, r2} = Switchboard.call(reg, turn2, tools: @tools)
      assert [%ToolCall{id: "call_sb_0", name: "now"} = again] = r2.tool_calls

      turn3 =
        turn2 ++
          [
            %{role: "assistant", content: r2.content, tool_calls: r2.tool_calls},
            %{role: "tool", tool_call_id: again.id, content: "12:01"}
          ]

      assert {:ok, r3} = Switchboard.call(reg, turn3, tools: @tools)
      assert r3.content == "21 °C in Paris at 12:01."
      assert r3.finish == :stop

      assert [_, second, third] = requests(sc)

      first_exchange = [
        %{"role" => "user", "parts" => [%{"text" => "Weather in Paris, and the time?"}]},
        %{
          "role" => "model",
          "parts" => [
            %{
              "functionCall" => %{"name" => "get_weather", "args" => %{"city" => "Paris"}},
              "thoughtSignature" => @signed
            },
            %{"functionCall" => %{"name" => "now", "args" => %{}}}
          ]
        },
        %{
          "role" => "user",
          "parts" => [
            %{"functionResponse" => %{"name" => "get_weather", "response" => %{"temp" => 21}}},
            %{"functionResponse" => %{"name" => "now", "response" => %{"result" => "noon"}}}
          ]
        }
      ]

      assert second["json"]["contents"] == first_exchange

      assert third["json"]["contents"] ==
               first_exchange ++
                 [
                   %{
                     "role" => "model",
                     "parts" => [
                       %{"text" => "One more look."},
                       %{
                         "functionCall" => %{"name" => "now", "args" => %{}},
                         "thoughtSignature" => @signed
                       }
                     ]
                   },
                   # call_sb_0 of this turn is `now`, not the first turn's get_weather.
                   %{
                     "role" => "user",
                     "parts" => [
                       %{
                         "functionResponse" => %{
                           "name" => "now",
                           "response" => %{"result" => "12:01"}
                         }
                       }
                     ]
                   }
                 ]

      assert third["json"]["tools"] == [%{"functionDeclarations" => @declarations}]
    end
  end

  describe "vertex-ai" do
    test "Gemini on Vertex: the same body on the Vertex path, calls plain and streamed" do
      step = %{tool_calls: [%{name: "get_weather", arguments: %{city: "Rome"}}]}
      sc = scripted([step, step])
      reg = registry!(%{clients: [vertex("V", sc, %{query_params: %{key: "AQ.express"}})]})

      assert {:ok, resp} =
               Switchboard.call(reg, "Weather in Rome?", tools: @tools, tool_choice: :required)

      assert resp.tool_calls == [
               %ToolCall{
                 id: "call_sb_0",
                 name: "get_weather",
                 arguments: %{"city" => "Rome"},
                 signature: @signed
               }
             ]

      chunks = reg |> Switchboard.stream("Weather in Rome?", tools: [@weather]) |> Enum.to_list()

      assert [%ToolCall{id: "call_sb_0", name: "get_weather", arguments: nil}] =
               Enum.flat_map(chunks, & &1.tool_calls)

      assert %Chunk{response: %Response{tool_calls: [%ToolCall{arguments: %{"city" => "Rome"}}]}} =
               List.last(chunks)

      assert [plain, streamed] = requests(sc)

      assert plain["path"] ==
               "/v1/projects/test-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"

      assert plain["json"] == %{
               "contents" => [%{"role" => "user", "parts" => [%{"text" => "Weather in Rome?"}]}],
               "tools" => [%{"functionDeclarations" => @declarations}],
               "toolConfig" => %{"functionCallingConfig" => %{"mode" => "ANY"}}
             }

      assert streamed["path"] =~
               ~r{/publishers/google/models/gemini-2.5-flash:streamGenerateContent$}

      assert streamed["json"]["tools"] == [%{"functionDeclarations" => [hd(@declarations)]}]
    end
  end
end
