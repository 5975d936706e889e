defmodule Switchboard.ToolsResponsesConformanceTest do
  @moduledoc """
  The recorded OpenAI Responses API exchanges with tool calls, reasoning
  and structured output (req_llm cassettes for gpt-5), replayed by the mock
  through the real client path. Each call is made with the tools or schema
  the recording's request carried; the expected tool calls (id, name,
  decoded arguments), reasoning, object text and reasoning tokens are
  computed from the recorded response.
  """
  use Switchboard.Case, async: true

  @moduletag :conformance

  alias Switchboard.ToolCall

  @dir Path.join(
         Switchboard.Case.conformance_root(),
         "openai-responses/req_llm/openai/gpt_5"
       )

  defp client(sc) do
    %{
      name: "R",
      provider: "openai-responses",
      options: %{
        model: "gpt-5",
        api_key: "sk-test",
        base_url: Mock.base_url(mock(), sc, "openai-responses")
      }
    }
  end

  defp decode(text), do: Mock.decode_json(mock(), text)

  # The recorded request body.
  defp recorded_request(cassette) do
    cassette["request"]["body"]["b64"] |> Base.decode64!() |> decode()
  end

  # The recorded request's tools (req_llm sends the function beside the
  # flat fields) and output schema, as call options.
  defp call_options(request) do
    tools =
      for %{"name" => name} = t <- request["tools"] || [] do
        f = t["function"] || t
        %{name: name, description: f["description"], parameters: f["parameters"]}
      end

    schema = get_in(request, ["text", "format", "schema"])

    [tools: tools] ++ if(schema, do: [output_schema: schema], else: [])
  end

  defp expected(body) do
    output = body["output"]

    %{
      text:
        for(
          %{"type" => "message", "content" => parts} <- output,
          %{"type" => "output_text", "text" => t} <- parts,
          into: "",
          do: t
        ),
      reasoning:
        for(
          %{"type" => "reasoning", "summary" => summary} <- output,
          %{"text" => t} <- summary,
          do: t
        )
        |> Enum.join("\n\n"),
      tool_calls:
        for %{"type" => "function_call"} = c <- output do
          %ToolCall{id: c["call_id"], name: c["name"], arguments: decode(c["arguments"])}
        end,
      reasoning_tokens: body["usage"]["output_tokens_details"]["reasoning_tokens"]
    }
  end

  defp replay(name) do
    path = Path.join(@dir, name <> ".json")
    cassette = Mock.read_json(mock(), path)
    request = recorded_request(cassette)
    sc = scripted([%{replay_cassette: path}])
    reg = registry!(%{clients: [client(sc)]})
    [%{"content" => [%{"text" => prompt}]}] = request["input"]

    assert {:ok, %Response{} = resp} = Switchboard.call(reg, prompt, call_options(request))
    assert [%{"json" => sent}] = requests(sc)
    {resp, expected(cassette["response"]["body"]), request, sent}
  end

  defp tool_names(tools), do: Enum.map(tools || [], & &1["name"])

  test "tool_round_trip_1: the add call, its id and arguments" do
    {resp, expected, request, sent} = replay("tool_round_trip_1")
    assert [%ToolCall{name: "add"}] = expected.tool_calls
    assert resp.tool_calls == expected.tool_calls
    assert resp.finish == :tool_calls
    assert resp.content == expected.text
    assert resp.usage.reasoning_tokens == expected.reasoning_tokens
    # The same tool went out as the recording's, in our form.
    assert tool_names(sent["tools"]) == tool_names(request["tools"])
    # Its schema is not closed (no additionalProperties: false), so we send
    # strict: false. The recording sent strict: true, and OpenAI's echo of
    # the tool shows the properties dropped: the model called add with {}.
    assert [%{"type" => "function", "strict" => false}] = sent["tools"]
    echoed = Mock.read_json(mock(), Path.join(@dir, "tool_round_trip_1.json"))
    assert [%{"parameters" => %{"properties" => props}}] = echoed["response"]["body"]["tools"]
    assert props == %{}
  end

  test "multi_tool: the one call the model chose among three tools" do
    {resp, expected, request, sent} = replay("multi_tool")
    assert tool_names(request["tools"]) == ["get_weather", "tell_joke", "get_time"]
    assert [%ToolCall{name: "get_weather"}] = expected.tool_calls
    assert resp.tool_calls == expected.tool_calls
    assert resp.finish == :tool_calls
    assert resp.usage.reasoning_tokens == expected.reasoning_tokens
    assert tool_names(sent["tools"]) == tool_names(request["tools"])
  end

  test "reasoning_basic: the answer apart from reasoning, and the reasoning tokens" do
    {resp, expected, _request, _sent} = replay("reasoning_basic")
    assert expected.text =~ "84"
    assert resp.content == expected.text
    assert resp.tool_calls == []
    # gpt-5 returned its reasoning item without a summary.
    assert expected.reasoning == ""
    assert resp.reasoning == nil
    assert resp.usage.reasoning_tokens == expected.reasoning_tokens
    assert resp.usage.reasoning_tokens > 0
  end

  test "object_basic: the structured answer's text, from our json_schema request" do
    {resp, expected, request, sent} = replay("object_basic")
    assert resp.content == expected.text

    assert %{"age" => age, "name" => _, "occupation" => _} = decode(resp.content)
    assert is_integer(age)
    assert resp.usage.reasoning_tokens == expected.reasoning_tokens

    recorded_format = request["text"]["format"]

    assert sent["text"]["format"] == %{
             "type" => "json_schema",
             "name" => "output",
             "schema" => recorded_format["schema"],
             "strict" => recorded_format["strict"]
           }
  end
end
