defmodule Switchboard.ToolsOpenAITest do
  @moduledoc """
  Tools, tool choice, output schema, rich prompts and reasoning on the
  OpenAI chat-completions dialect (openai, openai-generic, azure-openai,
  ollama, openrouter), over HTTP against the mock: the exact request
  bodies, and what the answers give back, plain and streamed.
  """
  use Switchboard.Case, async: true

  alias Switchboard.{Chunk, ToolCall}

  @weather %{
    name: "get_weather",
    description: "The weather in a city",
    parameters: %{
      "type" => "object",
      "properties" => %{"city" => %{"type" => "string"}},
      "required" => ["city"]
    }
  }

  @now %{name: "now", parameters: %{"type" => "object", "properties" => %{}}}

  @weather_wire %{
    "type" => "function",
    "function" => %{
      "name" => "get_weather",
      "description" => "The weather in a city",
      "parameters" => %{
        "type" => "object",
        "properties" => %{"city" => %{"type" => "string"}},
        "required" => ["city"]
      }
    }
  }

  @now_wire %{
    "type" => "function",
    "function" => %{"name" => "now", "parameters" => %{"type" => "object", "properties" => %{}}}
  }

  defp one_client(sc, options \\ %{}), do: registry!(%{clients: [openai("O", sc, options)]})

  describe "requests" do
    test "tools and each tool_choice in OpenAI's shape" do
      sc = scripted(List.duplicate(%{content: "ok"}, 5))
      reg = one_client(sc)

      choices = [
        {nil, nil},
        {:auto, "auto"},
        {:none, "none"},
        {:required, "required"},
        {{:tool, "now"}, %{"type" => "function", "function" => %{"name" => "now"}}}
      ]

      for {choice, _} <- choices do
        opts = [tools: [@weather, @now]] ++ if(choice, do: [tool_choice: choice], else: [])
        assert {:ok, %Response{content: "ok"}} = Switchboard.call(reg, "Weather?", opts)
      end

      for {req, {_, wire}} <- Enum.zip(requests(sc), choices) do
        expected =
          %{
            "model" => "gpt-4o-mini",
            "messages" => [%{"role" => "user", "content" => "Weather?"}],
            "tools" => [@weather_wire, @now_wire]
          }
          |> then(&if wire, do: Map.put(&1, "tool_choice", wire), else: &1)

        assert req["json"] == expected
      end
    end

    test "output_schema is a json_schema response_format, strict only where the schema allows it" do
      sc = scripted([%{content: ~s({"ok":true})}, %{content: ~s({"ok":true})}])
      reg = one_client(sc)

      closed = %{
        "type" => "object",
        "properties" => %{"ok" => %{"type" => "boolean"}},
        "required" => ["ok"],
        "additionalProperties" => false
      }

      open = Map.delete(closed, "additionalProperties")

      assert {:ok, %Response{content: ~s({"ok":true})}} =
               Switchboard.call(reg, "Fine?", output_schema: closed)

      assert {:ok, %Response{}} = Switchboard.call(reg, "Fine?", output_schema: open)
      assert [strict, loose] = requests(sc)

      assert strict["json"] == %{
               "model" => "gpt-4o-mini",
               "messages" => [%{"role" => "user", "content" => "Fine?"}],
               "response_format" => %{
                 "type" => "json_schema",
                 "json_schema" => %{"name" => "output", "schema" => closed, "strict" => true}
               }
             }

      assert loose["json"]["response_format"] == %{
               "type" => "json_schema",
               "json_schema" => %{"name" => "output", "schema" => open, "strict" => false}
             }
    end

    test "image (URL and data) and document parts in a user message" do
      sc = scripted([%{content: "A cat."}])
      reg = one_client(sc)

      prompt = [
        %{
          role: "user",
          content: [
            %{type: "text", text: "What are these?"},
            %{type: "image", url: "https://example.com/cat.jpg"},
            %{type: "image", data: "iVBORw0KGgo=", media_type: "image/png"},
            %{type: "document", data: "JVBERi0xLjQ="}
          ]
        }
      ]

      assert {:ok, %Response{content: "A cat."}} = Switchboard.call(reg, prompt)
      assert [req] = requests(sc)

      assert req["json"]["messages"] == [
               %{
                 "role" => "user",
                 "content" => [
                   %{"type" => "text", "text" => "What are these?"},
                   %{
                     "type" => "image_url",
                     "image_url" => %{"url" => "https://example.com/cat.jpg"}
                   },
                   %{
                     "type" => "image_url",
                     "image_url" => %{"url" => "data:image/png;base64,iVBORw0KGgo="}
                   },
                   %{
                     "type" => "file",
                     "file" => %{
                       "filename" => "document.pdf",
                       "file_data" => "data:application/pdf;base64,JVBERi0xLjQ="
                     }
                   }
                 ]
               }
             ]
    end

    test "a document that is not a PDF is refused before any HTTP" do
      sc = scripted([%{content: "never"}])
      reg = one_client(sc)

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

      assert message =~ "OpenAI chat" and message =~ "text/plain" and message =~ "application/pdf"
      assert requests(sc) == []
    end

    test "an image in a tool result is refused before any HTTP" do
      sc = scripted([%{content: "never"}])
      reg = one_client(sc)

      prompt = [
        %{role: "user", content: "Screenshot?"},
        %{
          role: "assistant",
          content: nil,
          tool_calls: [%{id: "c1", name: "shot", arguments: %{}}]
        },
        %{role: "tool", tool_call_id: "c1", content: [%{type: "image", url: "https://x/s.png"}]}
      ]

      assert {:error, %Error{kind: :invalid_request}} = Switchboard.call(reg, prompt)
      assert requests(sc) == []
    end
  end

  describe "answers" do
    test "tool calls from a plain answer: decoded arguments, ids, finish :tool_calls" do
      sc =
        scripted([
          %{
            tool_calls: [
              %{id: "call_w", name: "get_weather", arguments: %{"city" => "Paris"}},
              %{name: "now", arguments: "{}"}
            ]
          }
        ])

      assert {:ok, %Response{} = resp} =
               Switchboard.call(one_client(sc), "Weather?", tools: [@weather, @now])

      assert resp.content == ""
      assert resp.finish == :tool_calls
      assert resp.finish_reason == "tool_calls"

      assert resp.tool_calls == [
               %ToolCall{id: "call_w", name: "get_weather", arguments: %{"city" => "Paris"}},
               %ToolCall{id: "call_mock_1", name: "now", arguments: %{}}
             ]
    end

    test "tool calls from a stream: started chunks, then the assembled calls" do
      sc =
        scripted([
          %{
            content: "Let me check.",
            tool_calls: [
              %{id: "call_w", name: "get_weather", arguments: %{"city" => "Paris, France"}},
              %{id: "call_n", name: "now", arguments: %{}}
            ]
          }
        ])

      chunks =
        Enum.to_list(Switchboard.stream(one_client(sc), "Weather?", tools: [@weather, @now]))

      assert %Chunk{response: %Response{} = resp} = List.last(chunks)

      assert Enum.flat_map(chunks, & &1.tool_calls) == [
               %ToolCall{id: "call_w", name: "get_weather", arguments: nil},
               %ToolCall{id: "call_n", name: "now", arguments: nil}
             ]

      assert Enum.map_join(chunks, & &1.text) == "Let me check."
      assert resp.content == "Let me check."
      assert resp.finish == :tool_calls

      assert resp.tool_calls == [
               %ToolCall{
                 id: "call_w",
                 name: "get_weather",
                 arguments: %{"city" => "Paris, France"}
               },
               %ToolCall{id: "call_n", name: "now", arguments: %{}}
             ]

      assert [req] = requests(sc)
      assert req["json"]["stream"] == true
      assert req["json"]["tools"] == [@weather_wire, @now_wire]
    end

    test "arguments that are not JSON are a :bad_response naming the tool, plain and streamed" do
      step = %{tool_calls: [%{id: "c1", name: "get_weather", arguments: ~s({"city": "Par)}]}
      sc = scripted([step, step])
      reg = one_client(sc)

      assert {:error, %Error{kind: :bad_response, message: message}} =
               Switchboard.call(reg, "Weather?", tools: [@weather])

      assert message =~ ~s("get_weather")

      assert_raise Error, ~r/"get_weather"/, fn ->
        Enum.to_list(Switchboard.stream(reg, "Weather?", tools: [@weather]))
      end
    end

    test "a scripted finish reason stays the provider's; tool calls still say :tool_calls" do
      sc = scripted([%{finish_reason: "stop", tool_calls: [%{name: "now", arguments: %{}}]}])

      assert {:ok, %Response{finish_reason: "tool_calls", finish: :tool_calls}} =
               Switchboard.call(one_client(sc), "Time?", tools: [@now])

      sc = scripted([%{finish_reason: "length", tool_calls: [%{name: "now", arguments: %{}}]}])

      assert {:ok, %Response{finish_reason: "length", finish: :length, tool_calls: [_]}} =
               Switchboard.call(one_client(sc), "Time?", tools: [@now])
    end

    test "reasoning is kept apart from the text, plain and streamed, with its token count" do
      step = %{
        content: "84",
        reasoning: "12 times 7 is 70 plus 14.",
        usage: %{output_tokens: 30, reasoning_tokens: 20}
      }

      sc = scripted([step, step])
      reg = one_client(sc)

      assert {:ok, %Response{} = resp} = Switchboard.call(reg, "12*7?")
      assert resp.content == "84"
      assert resp.reasoning == "12 times 7 is 70 plus 14."
      assert %Usage{output_tokens: 30, reasoning_tokens: 20} = resp.usage
      assert resp.finish == :stop

      chunks = Enum.to_list(Switchboard.stream(reg, "12*7?"))
      assert %Chunk{response: %Response{} = streamed} = List.last(chunks)
      assert Enum.map_join(chunks, & &1.reasoning) == "12 times 7 is 70 plus 14."
      assert Enum.map_join(chunks, & &1.text) == "84"
      assert streamed.content == "84"
      assert streamed.reasoning == "12 times 7 is 70 plus 14."
      assert streamed.usage.reasoning_tokens == 20
    end

    test "a refusal is the answer's text with finish :content_filter, plain and streamed" do
      body =
        ~s({"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,) <>
          ~s("message":{"role":"assistant","content":null,"refusal":"I can't help with that."},) <>
          ~s("finish_reason":"stop"}]})

      events =
        [
          ~s({"choices":[{"index":0,"delta":{"role":"assistant","content":null,"refusal":""}}]}),
          ~s({"choices":[{"index":0,"delta":{"refusal":"I can't"}}]}),
          ~s({"choices":[{"index":0,"delta":{"refusal":" help."}}]}),
          ~s({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}),
          "[DONE]"
        ]
        |> Enum.map_join(&"data: #{&1}\n\n")

      sc = scripted([%{body: body}, %{body: events, content_type: "text/event-stream"}])

      assert {:ok,
              %Response{
                content: "I can't help with that.",
                finish_reason: "refusal",
                finish: :content_filter
              }} = Switchboard.call(one_client(sc), "Do something bad")

      streamed = List.last(Enum.to_list(Switchboard.stream(one_client(sc), "Do something bad")))

      assert %Response{
               content: "I can't help.",
               finish_reason: "refusal",
               finish: :content_filter
             } = streamed.response
    end

    test "OpenRouter's `reasoning` field is reasoning too" do
      body =
        ~s({"id":"c","model":"x/r1","choices":[{"index":0,"finish_reason":"stop",) <>
          ~s("message":{"role":"assistant","content":"84","reasoning":"Seventy plus fourteen."}}]})

      sc = scripted([%{body: body}])
      base = Mock.base_url(mock(), sc, "openrouter")

      reg =
        registry!(%{
          clients: [
            %{
              name: "OR",
              provider: "openrouter",
              options: %{base_url: base, model: "x/r1", api_key: "or-k"}
            }
          ]
        })

      assert {:ok, %Response{content: "84", reasoning: "Seventy plus fourteen."}} =
               Switchboard.call(reg, "12*7?")
    end
  end

  describe "a tool loop" do
    test "tool call, tool result, final answer: the second request carries OpenAI's history" do
      sc =
        scripted([
          %{tool_calls: [%{id: "call_1", name: "get_weather", arguments: %{"city" => "Paris"}}]},
          %{content: "It is sunny in Paris."}
        ])

      reg = one_client(sc)
      question = [%{role: "user", content: "Weather in Paris?"}]

      assert {:ok, %Response{tool_calls: [call]} = first} =
               Switchboard.call(reg, question, tools: [@weather])

      history =
        question ++
          [
            %{role: "assistant", content: first.content, tool_calls: first.tool_calls},
            %{role: "tool", tool_call_id: call.id, content: %{"sky" => "sunny", "c" => 21}}
          ]

      assert {:ok, %Response{content: "It is sunny in Paris.", finish: :stop, tool_calls: []}} =
               Switchboard.call(reg, history, tools: [@weather])

      assert [_, second] = requests(sc)

      assert second["json"]["messages"] == [
               %{"role" => "user", "content" => "Weather in Paris?"},
               %{
                 "role" => "assistant",
                 "content" => nil,
                 "tool_calls" => [
                   %{
                     "id" => "call_1",
                     "type" => "function",
                     "function" => %{"name" => "get_weather", "arguments" => ~s({"city":"Paris"})}
                   }
                 ]
               },
               %{
                 "role" => "tool",
                 "tool_call_id" => "call_1",
                 "content" => ~s({"c":21,"sky":"sunny"})
               }
             ]

      assert second["json"]["tools"] == [@weather_wire]
    end
  end

  describe "other OpenAI-compatible providers" do
    test "azure-openai answers tool calls, plain and streamed" do
      step = %{
        tool_calls: [%{id: "call_az", name: "get_weather", arguments: %{"city" => "Oslo"}}]
      }

      sc = scripted([step, step])
      base = Mock.base_url(mock(), sc) <> "/openai/deployments/gpt4"

      reg =
        registry!(%{
          clients: [
            %{
              name: "Az",
              provider: "azure-openai",
              options: %{base_url: base, api_version: "2024-10-21", api_key: "az-key"}
            }
          ]
        })

      call = %ToolCall{id: "call_az", name: "get_weather", arguments: %{"city" => "Oslo"}}

      assert {:ok, %Response{provider: "azure-openai", tool_calls: [^call], finish: :tool_calls}} =
               Switchboard.call(reg, "Oslo?", tools: [@weather], tool_choice: :required)

      chunks = Enum.to_list(Switchboard.stream(reg, "Oslo?", tools: [@weather]))
      assert %Chunk{response: %Response{tool_calls: [^call]}} = List.last(chunks)

      assert [plain, streamed] = requests(sc)
      assert plain["path"] == "/openai/deployments/gpt4/chat/completions"
      assert plain["json"]["tools"] == [@weather_wire]
      assert plain["json"]["tool_choice"] == "required"
      assert streamed["json"]["tools"] == [@weather_wire]
    end

    test "openai-generic answers tool calls, plain and streamed" do
      step = %{tool_calls: [%{id: "call_g", name: "now", arguments: %{}}]}
      sc = scripted([step, step])

      reg =
        registry!(%{
          clients: [
            %{
              name: "Gen",
              provider: "openai-generic",
              options: %{base_url: Mock.base_url(mock(), sc, "openai-generic"), model: "local"}
            }
          ]
        })

      call = %ToolCall{id: "call_g", name: "now", arguments: %{}}

      assert {:ok, %Response{tool_calls: [^call]}} =
               Switchboard.call(reg, "Time?", tools: [@now], tool_choice: {:tool, "now"})

      chunks = Enum.to_list(Switchboard.stream(reg, "Time?", tools: [@now]))
      assert Enum.flat_map(chunks, & &1.tool_calls) == [%{call | arguments: nil}]
      assert %Chunk{response: %Response{tool_calls: [^call]}} = List.last(chunks)

      assert [plain, _] = requests(sc)

      assert plain["json"] == %{
               "model" => "local",
               "messages" => [%{"role" => "user", "content" => "Time?"}],
               "tools" => [@now_wire],
               "tool_choice" => %{"type" => "function", "function" => %{"name" => "now"}}
             }
    end
  end
end
