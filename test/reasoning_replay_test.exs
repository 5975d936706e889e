defmodule Switchboard.ReasoningReplayTest do
  @moduledoc """
  Reasoning that must survive a tool loop, over real HTTP against the mock,
  on each dialect that signs it (Anthropic, Bedrock Converse, Gemini), plain
  and streamed: the first answer's signed reasoning (or Gemini's call
  signature) is on the response, and the second request, built with
  `Switchboard.Response.to_message/1`, carries it back where the provider
  wants it. Also: a forced `json_output` while Claude thinks, answer parts
  Switchboard cannot read, and `Switchboard.Error.retryable`. Not async: the
  Bedrock cases isolate the AWS variables of the environment.
  """
  use Switchboard.Case, async: false

  alias Switchboard.{Chunk, ReasoningPart, ToolCall}

  doctest Switchboard.Response
  doctest Switchboard.ReasoningPart

  @now %{name: "now"}
  @call %{id: "toolu_1", name: "now", arguments: %{}}
  @keys %{
    access_key_id: "AKIDEXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
  }

  setup do
    Switchboard.AwsEnv.isolate!()
    :ok
  end

  defp client(:anthropic, sc, options), do: anthropic("C", sc, options)

  defp client(:gemini, sc, options), do: Switchboard.GoogleHelpers.google_ai("C", sc, options)

  defp client(:bedrock, sc, options) do
    Mock.configure_aws(mock(), sc, %{credentials: [@keys], region: "us-east-1"})

    options =
      @keys
      |> Map.merge(%{
        model: "anthropic.claude-sonnet-4-20250514-v1:0",
        region: "us-east-1",
        endpoint_url: Mock.base_url(mock(), sc)
      })
      |> Map.merge(options)

    %{name: "C", provider: "aws-bedrock", options: options}
  end

  defp registry(dialect, steps, options \\ %{}) do
    sc = scripted(steps)
    {sc, registry!(%{clients: [client(dialect, sc, options)]})}
  end

  defp ask(reg, prompt, :plain, opts) do
    assert {:ok, %Response{} = resp} = Switchboard.call(reg, prompt, opts)
    resp
  end

  defp ask(reg, prompt, :streamed, opts) do
    chunks = Enum.to_list(Switchboard.stream(reg, prompt, opts))
    assert %Chunk{response: %Response{} = resp} = List.last(chunks)
    resp
  end

  defp sent(sc), do: Enum.map(requests(sc), & &1["json"])

  # The tool loop's second prompt: the answer as the assistant turn, then
  # the tool's result.
  defp second_prompt(resp) do
    [
      %{role: "user", content: "What time is it?"},
      Response.to_message(resp),
      %{role: "tool", tool_call_id: hd(resp.tool_calls).id, content: "12:00"}
    ]
  end

  @steps [%{reasoning: "The clock tool knows.", tool_calls: [@call]}, %{content: "Noon."}]

  for mode <- [:plain, :streamed] do
    @mode mode

    test "Anthropic: signed thinking goes back before the tool_use (#{mode})" do
      {sc, reg} = registry(:anthropic, @steps)
      resp = ask(reg, "What time is it?", @mode, tools: [@now])

      assert [%ReasoningPart{dialect: :anthropic, text: "The clock tool knows.", signature: sig}] =
               resp.reasoning_parts

      assert is_binary(sig) and sig != ""
      assert resp.reasoning == "The clock tool knows."

      assert %Response{content: "Noon."} = ask(reg, second_prompt(resp), @mode, tools: [@now])
      [_, second] = sent(sc)

      assert [_, %{"role" => "assistant", "content" => blocks}, _] = second["messages"]

      assert [
               %{
                 "type" => "thinking",
                 "thinking" => "The clock tool knows.",
                 "signature" => ^sig
               },
               %{"type" => "tool_use", "id" => "toolu_1", "name" => "now", "input" => %{}}
             ] = blocks
    end

    test "Bedrock: signed reasoningContent goes back before the toolUse (#{mode})" do
      {sc, reg} = registry(:bedrock, @steps)
      resp = ask(reg, "What time is it?", @mode, tools: [@now])

      assert [%ReasoningPart{dialect: :bedrock, text: "The clock tool knows.", signature: sig}] =
               resp.reasoning_parts

      assert is_binary(sig) and sig != ""

      assert %Response{content: "Noon."} = ask(reg, second_prompt(resp), @mode, tools: [@now])
      [_, second] = sent(sc)
      assert [_, %{"role" => "assistant", "content" => blocks}, _] = second["messages"]

      assert [
               %{
                 "reasoningContent" => %{
                   "reasoningText" => %{"text" => "The clock tool knows.", "signature" => ^sig}
                 }
               },
               %{"toolUse" => %{"toolUseId" => "toolu_1", "name" => "now"}}
             ] = blocks
    end

    test "Gemini: the call's thoughtSignature goes back on its functionCall (#{mode})" do
      {sc, reg} = registry(:gemini, @steps)
      resp = ask(reg, "What time is it?", @mode, tools: [@now])

      assert [%ToolCall{name: "now", signature: sig}] = resp.tool_calls
      assert is_binary(sig) and sig not in ["", "skip_thought_signature_validator"]

      assert %Response{content: "Noon."} = ask(reg, second_prompt(resp), @mode, tools: [@now])
      [_, second] = sent(sc)
      assert [_, %{"role" => "model", "parts" => parts}, _] = second["contents"]
      assert [%{"functionCall" => %{"name" => "now"}, "thoughtSignature" => ^sig}] = parts
    end
  end

  test "a fallback to another dialect leaves the reasoning out" do
    {_, claude} = registry(:anthropic, @steps)
    resp = ask(claude, "What time is it?", :plain, tools: [@now])
    assert [%ReasoningPart{dialect: :anthropic}] = resp.reasoning_parts

    {sc, gemini} = registry(:gemini, [%{content: "Noon."}])
    ask(gemini, second_prompt(resp), :plain, tools: [@now])
    [sent] = sent(sc)
    assert [_, %{"role" => "model", "parts" => parts}, _] = sent["contents"]

    # No Anthropic signature: the call goes with Google's documented
    # placeholder for calls Gemini did not sign.
    assert [
             %{
               "functionCall" => %{"name" => "now"},
               "thoughtSignature" => "skip_thought_signature_validator"
             }
           ] = parts

    refute inspect(sent) =~ hd(resp.reasoning_parts).signature
  end

  test "reasoning_parts in a prompt are checked" do
    {sc, reg} = registry(:anthropic, [%{}])
    bad = [%{role: "assistant", content: "x", reasoning_parts: [%{dialect: "openai"}]}]

    assert {:error, %Error{kind: :invalid_request, message: message}} =
             Switchboard.call(reg, [%{role: "user", content: "q"} | bad])

    assert message =~ "unknown dialect"
    assert requests(sc) == []
  end

  describe "json_output while Claude thinks" do
    @schema %{
      type: "object",
      properties: %{status: %{type: "string", enum: ["ok", "degraded"]}},
      required: ["status"]
    }
    @thinking %{type: "enabled", budget_tokens: 1024}
    @by_tool %{
      reasoning: "Fine.",
      tool_calls: [%{name: "json_output", arguments: %{status: "ok"}}]
    }
    @by_text %{reasoning: "Fine.", content: "Here it is:\n```json\n{\"status\": \"ok\",}\n```"}

    test "Anthropic offers the output tool with tool_choice auto and reads a tool or text answer" do
      {sc, reg} = registry(:anthropic, [@by_tool, @by_text, @by_text], %{thinking: @thinking})

      assert %Response{parsed: %{"status" => "ok"}, tool_calls: [], finish: :stop} =
               ask(reg, "Health?", :plain, output_schema: @schema)

      assert %Response{parsed: %{"status" => "ok"}} =
               ask(reg, "Health?", :plain, output_schema: @schema)

      assert %Response{parsed: %{"status" => "ok"}} =
               ask(reg, "Health?", :streamed, output_schema: @schema)

      for body <- sent(sc) do
        assert body["tool_choice"] == %{"type" => "auto"}
        assert [%{"name" => "json_output"}] = body["tools"]
        assert body["thinking"] == %{"type" => "enabled", "budget_tokens" => 1024}
      end
    end

    test "an answer from the output tool is the content too, so to_message repeats it" do
      for {dialect, mode} <- [anthropic: :plain, anthropic: :streamed, bedrock: :plain] do
        {sc, reg} = registry(dialect, [@by_tool, %{content: "Noted."}])

        resp = ask(reg, "Health?", mode, output_schema: @schema)
        assert %Response{parsed: %{"status" => "ok"}, tool_calls: []} = resp
        assert resp.content == ~s({"status":"ok"})

        history = [%{role: "user", content: "Health?"}, Response.to_message(resp)]
        ask(reg, history ++ [%{role: "user", content: "Thanks"}], mode, [])

        [_, second] = sent(sc)
        answer = ~s({"status":"ok"})

        assert %{"role" => "assistant", "content" => content} = Enum.at(second["messages"], 1)
        texts = for %{"text" => text} <- List.wrap(content), do: text
        assert content == answer or answer in texts, "#{dialect}: #{inspect(content)}"
      end
    end

    test "Anthropic still forces the output tool without thinking" do
      {sc, reg} = registry(:anthropic, [@by_tool])
      ask(reg, "Health?", :plain, output_schema: @schema)
      assert [%{"tool_choice" => %{"type" => "tool", "name" => "json_output"}}] = sent(sc)
    end

    test "Bedrock offers the output tool without a toolChoice and reads a tool or text answer" do
      options = %{additional_model_request_fields: %{thinking: @thinking}}
      {sc, reg} = registry(:bedrock, [@by_tool, @by_text], options)

      assert %Response{parsed: %{"status" => "ok"}} =
               ask(reg, "Health?", :plain, output_schema: @schema)

      assert %Response{parsed: %{"status" => "ok"}} =
               ask(reg, "Health?", :streamed, output_schema: @schema)

      for body <- sent(sc) do
        assert [%{"toolSpec" => %{"name" => "json_output"}}] = body["toolConfig"]["tools"]
        refute Map.has_key?(body["toolConfig"], "toolChoice")
      end
    end
  end

  describe "answer parts Switchboard cannot read" do
    @server_tool ~s({"type": "message", "model": "claude-x", "stop_reason": "end_turn",
      "content": [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
                  {"type": "text", "text": "Found it."}],
      "usage": {"input_tokens": 1, "output_tokens": 1}})

    @server_tool_stream """
    event: message_start
    data: {"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":1,"output_tokens":1}}}

    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"s","name":"web_search","input":{}}}

    event: message_stop
    data: {"type":"message_stop"}

    """

    @image ~s({"candidates": [{"content": {"role": "model", "parts": [{"text": "Here:"},
      {"inlineData": {"mimeType": "image/png", "data": "iVBO"}}]}, "finishReason": "STOP"}]})

    test "an Anthropic server tool block is a :bad_response naming it, plain and streamed" do
      {_, reg} =
        registry(:anthropic, [
          %{status: 200, body: @server_tool},
          %{status: 200, body: @server_tool_stream, content_type: "text/event-stream"}
        ])

      assert {:error, %Error{kind: :bad_response, message: m}} = Switchboard.call(reg, "Search")
      assert m =~ ~s("server_tool_use")

      e = assert_raise Error, fn -> Enum.to_list(Switchboard.stream(reg, "Search")) end
      assert e.kind == :bad_response and e.message =~ ~s("server_tool_use")
    end

    test "is not retried: one request reaches the mock under DefaultRetry, a fallback moves on" do
      sc = scripted([%{status: 200, body: @server_tool}, %{content: "Never asked."}])
      backup = scripted([%{content: "From the backup."}], "b")

      reg = registry!(%{clients: [anthropic("C", sc, %{}, "DefaultRetry")]})

      assert {:error, %Error{kind: :bad_response, retryable: false}} =
               Switchboard.call(reg, "Search")

      assert length(requests(sc)) == 1

      sc = scripted([%{status: 200, body: @server_tool}, %{content: "Never asked."}])

      reg = fallback_registry!([anthropic("C", sc, %{}, "DefaultRetry"), anthropic("B", backup)])

      assert {:ok, %Response{content: "From the backup.", client: "B"}} =
               Switchboard.call(reg, "Search")

      assert length(requests(sc)) == 1
    end

    test "redacted thinking without its data is a :bad_response, not sent back empty" do
      answer = ~s({"type": "message", "model": "claude-x", "stop_reason": "end_turn",
        "content": [{"type": "redacted_thinking", "data": ""}, {"type": "text", "text": "Hi"}],
        "usage": {"input_tokens": 1, "output_tokens": 1}})

      {_, reg} = registry(:anthropic, [%{status: 200, body: answer}])

      assert {:error, %Error{kind: :bad_response, retryable: false, message: m}} =
               Switchboard.call(reg, "Hi")

      assert m =~ "without its data"
    end

    test "a Gemini inlineData part is a :bad_response naming it, plain and streamed" do
      {_, reg} =
        registry(:gemini, [
          %{status: 200, body: @image},
          %{status: 200, body: "data: #{@image}\n\n", content_type: "text/event-stream"}
        ])

      assert {:error, %Error{kind: :bad_response, message: m}} = Switchboard.call(reg, "Draw")
      assert m =~ ~s("inlineData")

      e = assert_raise Error, fn -> Enum.to_list(Switchboard.stream(reg, "Draw")) end
      assert e.kind == :bad_response and e.message =~ ~s("inlineData")
    end
  end

  test "Error.retryable says whether a retry policy would try again" do
    {_, reg} = registry(:anthropic, [%{status: 429}, %{status: 400}])
    assert {:error, %Error{kind: :rate_limited, retryable: true}} = Switchboard.call(reg, "x")
    assert {:error, %Error{kind: :invalid_request, retryable: false}} = Switchboard.call(reg, "x")
  end
end
