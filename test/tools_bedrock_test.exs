defmodule Switchboard.ToolsBedrockTest do
  @moduledoc """
  Tools, tool choice, structured output, documents and reasoning on AWS
  Bedrock Converse, end to end over real HTTP against the mock: the exact
  `toolConfig` and `toolUse`/`toolResult` blocks sent, and the tool calls
  and reasoning read from whole and streamed answers. Not async: it
  isolates the AWS variables of the environment.
  """
  use Switchboard.Case, async: false

  alias Switchboard.{Chunk, ToolCall}

  @model "anthropic.claude-3-5-haiku-20241022-v1:0"
  @keys %{
    access_key_id: "AKIDEXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
  }

  @weather %{
    name: "get_weather",
    description: "Current weather of a city",
    parameters: %{
      "type" => "object",
      "properties" => %{"city" => %{"type" => "string"}},
      "required" => ["city"]
    }
  }
  @now %{name: "now"}

  @weather_spec %{
    "toolSpec" => %{
      "name" => "get_weather",
      "description" => "Current weather of a city",
      "inputSchema" => %{
        "json" => %{
          "type" => "object",
          "properties" => %{"city" => %{"type" => "string"}},
          "required" => ["city"]
        }
      }
    }
  }
  @now_spec %{
    "toolSpec" => %{
      "name" => "now",
      "inputSchema" => %{"json" => %{"type" => "object", "properties" => %{}}}
    }
  }

  setup do
    Switchboard.AwsEnv.isolate!()
    :ok
  end

  # A registry with one Bedrock client signing with static keys, which the
  # mock verifies.
  defp bedrock!(sc, extra \\ %{}) do
    Mock.configure_aws(mock(), sc, %{credentials: [@keys], region: "us-east-1"})

    options =
      @keys
      |> Map.merge(%{
        model: @model,
        region: "us-east-1",
        endpoint_url: Mock.base_url(mock(), sc)
      })
      |> Map.merge(extra)

    registry!(%{clients: [%{name: "B", provider: "aws-bedrock", options: options}]})
  end

  # One application/vnd.amazon.eventstream event message with a JSON payload.
  defp event(type, payload) do
    headers =
      for {name, value} <- [
            {":event-type", type},
            {":content-type", "application/json"},
            {":message-type", "event"}
          ],
          into: "" do
        <<byte_size(name)::8, name::binary, 7::8, byte_size(value)::16, value::binary>>
      end

    prelude = <<byte_size(headers) + byte_size(payload) + 16::32, byte_size(headers)::32>>
    message = <<prelude::binary, :erlang.crc32(prelude)::32, headers::binary, payload::binary>>
    <<message::binary, :erlang.crc32(message)::32>>
  end

  describe "requests" do
    test "tools and each tool choice are a toolConfig; :none leaves the tools out" do
      sc = scripted([%{content: "ok", repeat: -1}])
      reg = bedrock!(sc)

      for choice <- [nil, :auto, :required, {:tool, "now"}, :none] do
        opts = [tools: [@weather, @now]] ++ if(choice, do: [tool_choice: choice], else: [])
        assert {:ok, %Response{content: "ok", finish: :stop}} = Switchboard.call(reg, "Hi", opts)
      end

      tools = [@weather_spec, @now_spec]

      assert Enum.map(requests(sc), & &1["json"]["toolConfig"]) == [
               %{"tools" => tools},
               %{"tools" => tools, "toolChoice" => %{"auto" => %{}}},
               %{"tools" => tools, "toolChoice" => %{"any" => %{}}},
               %{"tools" => tools, "toolChoice" => %{"tool" => %{"name" => "now"}}},
               nil
             ]

      assert %{"verified" => 5, "rejected" => 0} = Mock.aws_report(mock(), sc)
    end

    test "output_schema is the forced json_output tool, or one more tool beside others" do
      schema = %{
        "type" => "object",
        "properties" => %{"n" => %{"type" => "integer"}},
        "required" => ["n"]
      }

      sc =
        scripted([
          %{tool_calls: [%{id: "tooluse_out", name: "json_output", arguments: %{"n" => 3}}]},
          %{content: ~s({"n": 4})}
        ])

      reg = bedrock!(sc)
      assert {:ok, %Response{} = resp} = Switchboard.call(reg, "Count", output_schema: schema)

      # The engine reads the forced tool's call as the structured answer.
      assert resp.parsed == %{"n" => 3} and resp.tool_calls == []

      assert {:ok, _} = Switchboard.call(reg, "Count", output_schema: schema, tools: [@now])

      [forced, beside] = requests(sc)

      output = %{
        "toolSpec" => %{
          "name" => "json_output",
          "description" =>
            "Give your final answer by calling this tool: its input is the answer, matching this schema.",
          "inputSchema" => %{"json" => schema}
        }
      }

      assert forced["json"] == %{
               "messages" => [%{"role" => "user", "content" => [%{"text" => "Count"}]}],
               "toolConfig" => %{
                 "tools" => [output],
                 "toolChoice" => %{"tool" => %{"name" => "json_output"}}
               }
             }

      assert beside["json"]["toolConfig"] == %{"tools" => [@now_spec, output]}
    end

    test "images and documents are content blocks; an image URL is refused before any request" do
      sc = scripted([%{content: "A cat and a table."}])
      reg = bedrock!(sc)

      prompt = [
        %{
          role: "user",
          content: [
            %{type: "text", text: "Describe both."},
            %{type: "image", data: "iVBORw0KGgo=", media_type: "image/png"},
            %{type: "document", data: "JVBERi0xLjQK"},
            %{type: "document", data: "YSxiCjEsMgo=", media_type: "text/csv"}
          ]
        }
      ]

      assert {:ok, %Response{content: "A cat and a table."}} = Switchboard.call(reg, prompt)
      assert [req] = requests(sc)

      assert req["json"]["messages"] == [
               %{
                 "role" => "user",
                 "content" => [
                   %{"text" => "Describe both."},
                   %{"image" => %{"format" => "png", "source" => %{"bytes" => "iVBORw0KGgo="}}},
                   %{
                     "document" => %{
                       "format" => "pdf",
                       "name" => "document",
                       "source" => %{"bytes" => "JVBERi0xLjQK"}
                     }
                   },
                   %{
                     "document" => %{
                       "format" => "csv",
                       "name" => "document-2",
                       "source" => %{"bytes" => "YSxiCjEsMgo="}
                     }
                   }
                 ]
               }
             ]

      sc = scripted([%{content: "never"}])
      # A URL kept as a URL (its default fetches it: media_url_handler_test).
      reg = bedrock!(sc, %{media_url_handler: %{image: "send_url"}})

      url = [
        %{role: "user", content: [%{type: "image_url", image_url: "https://x.test/cat.png"}]}
      ]

      assert {:error, %Error{kind: :invalid_request, message: msg}} = Switchboard.call(reg, url)
      assert msg =~ ~s(media_url_handler: %{image: "send_base64"})

      zip = [
        %{
          role: "user",
          content: [%{type: "document", data: "UEsD", media_type: "application/zip"}]
        }
      ]

      assert {:error, %Error{kind: :invalid_request, message: msg}} = Switchboard.call(reg, zip)
      assert msg =~ "application/zip"
      assert requests(sc) == []
    end
  end

  describe "answers" do
    test "toolUse blocks are tool calls, reasoning is apart from the content" do
      sc =
        scripted([
          %{
            content: "Let me check.",
            reasoning: "The user wants the weather.",
            tool_calls: [
              %{id: "tooluse_1", name: "get_weather", arguments: %{"city" => "Paris"}},
              %{name: "now", arguments: %{}}
            ],
            usage: %{input_tokens: 20, output_tokens: 9}
          }
        ])

      reg = bedrock!(sc)

      assert {:ok, %Response{} = resp} =
               Switchboard.call(reg, "Weather?", tools: [@weather, @now])

      assert resp.content == "Let me check."
      assert resp.reasoning == "The user wants the weather."
      assert resp.finish == :tool_calls and resp.finish_reason == "tool_use"

      assert resp.tool_calls == [
               %ToolCall{id: "tooluse_1", name: "get_weather", arguments: %{"city" => "Paris"}},
               %ToolCall{id: "call_mock_1", name: "now", arguments: %{}}
             ]

      assert resp.usage.input_tokens == 20
    end

    test "streamed tool calls are announced in chunks and complete on the response" do
      sc =
        scripted([
          %{
            content: "Checking the weather.",
            reasoning: "Weather needed.",
            tool_calls: [
              %{id: "tooluse_s", name: "get_weather", arguments: %{"city" => "Paris, France"}}
            ],
            split_bytes: 40
          }
        ])

      reg = bedrock!(sc)
      chunks = reg |> Switchboard.stream("Weather?", tools: [@weather]) |> Enum.to_list()
      %Chunk{response: resp} = List.last(chunks)

      assert Enum.map_join(chunks, & &1.text) == "Checking the weather."
      assert Enum.map_join(chunks, & &1.reasoning) == "Weather needed."

      assert Enum.flat_map(chunks, & &1.tool_calls) == [
               %ToolCall{id: "tooluse_s", name: "get_weather", arguments: nil}
             ]

      assert resp.tool_calls == [
               %ToolCall{
                 id: "tooluse_s",
                 name: "get_weather",
                 arguments: %{"city" => "Paris, France"}
               }
             ]

      assert resp.content == "Checking the weather." and resp.reasoning == "Weather needed."
      assert resp.finish == :tool_calls and resp.finish_reason == "tool_use"
      assert [req] = requests(sc)
      assert String.ends_with?(req["path"], "/converse-stream")
      assert req["json"]["toolConfig"] == %{"tools" => [@weather_spec]}
    end

    test "the stop reason and usage are read whether metadata comes before or after messageStop" do
      start =
        ~s({"contentBlockIndex":0,"start":{"toolUse":{"name":"now","toolUseId":"tooluse_t"}}})

      input = ~s({"contentBlockIndex":0,"delta":{"toolUse":{"input":"{}"}}})
      stop = event("messageStop", ~s({"stopReason":"tool_use"}))

      metadata =
        event("metadata", ~s({"usage":{"inputTokens":4,"outputTokens":2,"totalTokens":6}}))

      body = [
        event("messageStart", ~s({"role":"assistant"})),
        event("contentBlockStart", start),
        event("contentBlockDelta", input),
        event("contentBlockStop", ~s({"contentBlockIndex":0}))
      ]

      for ending <- [[stop, metadata], [metadata, stop]] do
        sc =
          scripted([
            %{
              replay_chunks_b64: Enum.map(body ++ ending, &Base.encode64/1),
              content_type: "application/vnd.amazon.eventstream"
            }
          ])

        reg = bedrock!(sc)
        chunks = reg |> Switchboard.stream("Time?", tools: [@now]) |> Enum.to_list()
        %Chunk{response: resp} = List.last(chunks)
        assert resp.tool_calls == [%ToolCall{id: "tooluse_t", name: "now", arguments: %{}}]
        assert resp.finish == :tool_calls and resp.finish_reason == "tool_use"
        assert resp.usage.input_tokens == 4 and resp.usage.output_tokens == 2
      end
    end

    test "tool input that is not a JSON object is a :bad_response naming the tool" do
      sc =
        scripted([
          %{tool_calls: [%{name: "get_weather", arguments: "{oops"}]},
          %{tool_calls: [%{name: "get_weather", arguments: "[1, 2]"}]}
        ])

      reg = bedrock!(sc)

      assert {:error, %Error{kind: :bad_response, message: msg}} =
               Switchboard.call(reg, "Weather?", tools: [@weather])

      assert msg =~ ~s("get_weather")

      error =
        assert_raise Error, fn ->
          reg |> Switchboard.stream("Weather?", tools: [@weather]) |> Enum.to_list()
        end

      assert error.kind == :bad_response and error.message =~ ~s("get_weather")
    end

    test "guardrail and content filter stops are :content_filter" do
      sc =
        scripted([
          %{content: "", finish_reason: "guardrail_intervened"},
          %{content: "", finish_reason: "content_filtered"}
        ])

      reg = bedrock!(sc)

      for reason <- ["guardrail_intervened", "content_filtered"] do
        assert {:ok, %Response{finish: :content_filter, finish_reason: ^reason}} =
                 Switchboard.call(reg, "Hi")
      end
    end
  end

  describe "a tool loop" do
    test "the calls go back as toolUse blocks and the results as one user turn of toolResult blocks" do
      sc =
        scripted([
          %{
            content: "",
            tool_calls: [
              %{id: "tooluse_w", name: "get_weather", arguments: %{"city" => "Paris"}},
              %{id: "tooluse_n", name: "now", arguments: %{}}
            ]
          },
          %{content: "18C in Paris at noon."}
        ])

      reg = bedrock!(sc)
      tools = [@weather, @now]
      question = %{role: "user", content: "Weather and time in Paris?"}

      assert {:ok, %Response{tool_calls: [weather, now]} = first} =
               Switchboard.call(reg, [question], tools: tools)

      history = [
        question,
        %{role: "assistant", content: first.content, tool_calls: first.tool_calls},
        %{role: "tool", tool_call_id: weather.id, content: %{"temp_c" => 18}},
        %{role: "tool", tool_call_id: now.id, content: "12:00"}
      ]

      assert {:ok, %Response{content: "18C in Paris at noon.", finish: :stop, tool_calls: []}} =
               Switchboard.call(reg, history, tools: tools, tool_choice: :none)

      assert [_, second] = requests(sc)

      assert second["json"]["messages"] == [
               %{"role" => "user", "content" => [%{"text" => "Weather and time in Paris?"}]},
               %{
                 "role" => "assistant",
                 "content" => [
                   %{
                     "toolUse" => %{
                       "toolUseId" => "tooluse_w",
                       "name" => "get_weather",
                       "input" => %{"city" => "Paris"}
                     }
                   },
                   %{"toolUse" => %{"toolUseId" => "tooluse_n", "name" => "now", "input" => %{}}}
                 ]
               },
               %{
                 "role" => "user",
                 "content" => [
                   %{
                     "toolResult" => %{
                       "toolUseId" => "tooluse_w",
                       "content" => [%{"text" => ~s({"temp_c":18})}]
                     }
                   },
                   %{
                     "toolResult" => %{
                       "toolUseId" => "tooluse_n",
                       "content" => [%{"text" => "12:00"}]
                     }
                   }
                 ]
               }
             ]

      # Converse takes tool blocks only with a toolConfig: with :none the
      # tools stay listed, without a toolChoice.
      assert second["json"]["toolConfig"] == %{"tools" => [@weather_spec, @now_spec]}
    end
  end
end
