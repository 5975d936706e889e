defmodule Switchboard.ToolsBedrockConformanceTest do
  @moduledoc """
  The recorded Bedrock Converse exchanges with tools or reasoning in
  ../shared/conformance (req_llm cassettes): each call is rebuilt from the
  recorded request (its tools, inference settings and conversation, tool
  calls and results included) and made through the mock, which replays the
  recorded answer. The request switchboard sends must be the recorded body
  exactly, and the answer must give the recorded tool names, ids and
  inputs, text, reasoning and stop reason, whole or streamed.
  """
  use Switchboard.Case, async: true

  alias Switchboard.{Chunk, ToolCall}

  @moduletag :conformance

  @root Switchboard.Case.conformance_root()

  # Decided textually at compile time (the Elixir side has no JSON library):
  # Converse recordings that offer tools, or whose answer has reasoning
  # (ConverseStream bodies are binary, so a streamed one is picked by its
  # request's tools).
  @recordings @root
              |> Path.join("bedrock/**/*.json")
              |> Path.wildcard()
              |> Enum.filter(fn path ->
                raw = File.read!(path)

                raw =~ ~r{"url"\s*:\s*"[^"]*/converse(-stream)?"} and
                  (raw =~ "toolConfig" or raw =~ "reasoningContent")
              end)

  @keys %{
    access_key_id: "AKIDEXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
  }

  test "the corpus has Bedrock recordings with tools and reasoning" do
    assert length(@recordings) >= 30
    assert Enum.any?(@recordings, &String.ends_with?(&1, "tool_round_trip_2.json"))
    assert Enum.any?(@recordings, &String.ends_with?(&1, "object_streaming.json"))
  end

  defp bedrock(sc) do
    %{
      name: "B",
      provider: "aws-bedrock",
      options:
        Map.merge(@keys, %{
          model: "anthropic.claude-haiku-4-5-20251001-v1:0",
          region: "us-east-1",
          endpoint_url: Mock.base_url(mock(), sc)
        })
    }
  end

  # --- the call a recorded request stands for --------------------------------

  defp tools(%{"toolConfig" => %{"tools" => tools}}) do
    for %{"toolSpec" => spec} <- tools do
      %{
        name: spec["name"],
        description: spec["description"],
        parameters: spec["inputSchema"]["json"]
      }
    end
  end

  defp options(%{"inferenceConfig" => config}) do
    %{max_tokens: config["maxTokens"], temperature: config["temperature"]}
    |> Map.reject(fn {_, v} -> is_nil(v) end)
  end

  defp prompt(%{"messages" => messages}), do: Enum.flat_map(messages, &message/1)

  defp message(%{"role" => "assistant", "content" => blocks}) do
    text = for %{"text" => t} <- blocks, into: "", do: t

    calls =
      for %{"toolUse" => call} <- blocks do
        %{id: call["toolUseId"], name: call["name"], arguments: call["input"]}
      end

    [%{role: "assistant", content: text, tool_calls: calls}]
  end

  defp message(%{"role" => "user", "content" => blocks}) do
    Enum.map(blocks, fn
      %{"text" => text} ->
        %{role: "user", content: text}

      %{"toolResult" => %{"toolUseId" => id, "content" => [%{"text" => text}]}} ->
        %{role: "tool", tool_call_id: id, content: text}
    end)
  end

  # --- what a recording says the answer is --------------------------------

  defp expect_whole(%{"output" => %{"message" => %{"content" => blocks}}} = body) do
    %{
      content: for(%{"text" => t} <- blocks, into: "", do: t),
      reasoning:
        for(
          %{"reasoningContent" => %{"reasoningText" => %{"text" => t}}} <- blocks,
          into: "",
          do: t
        ),
      tool_calls:
        for %{"toolUse" => c} <- blocks do
          %ToolCall{id: c["toolUseId"], name: c["name"], arguments: c["input"]}
        end,
      stop: body["stopReason"]
    }
  end

  defp expect_stream(cassette) do
    body = cassette["chunks"] |> Enum.map(&Base.decode64!(&1["b64"])) |> IO.iodata_to_binary()
    frames = Switchboard.EventStream.frames(body)
    payloads = Mock.decode_json(mock(), ["[", Enum.map_join(frames, ",", &elem(&1, 1)), "]"])
    events = Enum.zip(Enum.map(frames, &elem(&1, 0)), payloads)
    of = fn type -> for {%{":event-type" => ^type}, p} <- events, do: p end
    deltas = of.("contentBlockDelta")

    calls =
      for %{"contentBlockIndex" => i, "start" => %{"toolUse" => start}} <-
            of.("contentBlockStart") do
        input =
          for %{"contentBlockIndex" => ^i, "delta" => %{"toolUse" => %{"input" => piece}}} <-
                deltas,
              into: "",
              do: piece

        %ToolCall{
          id: start["toolUseId"],
          name: start["name"],
          arguments: Mock.decode_json(mock(), input)
        }
      end

    %{
      content: for(%{"delta" => %{"text" => t}} <- deltas, into: "", do: t),
      reasoning:
        for(%{"delta" => %{"reasoningContent" => %{"text" => t}}} <- deltas, into: "", do: t),
      tool_calls: calls,
      stop: of.("messageStop") |> Enum.map(& &1["stopReason"]) |> List.last()
    }
  end

  # --- replay ----------------------------------------------------------------

  for path <- @recordings do
    @path path
    test "replays #{Path.relative_to(path, @root)}" do
      cassette = Mock.read_json(mock(), @path)
      recorded = cassette["request"]["canonical_json"]
      sc = scripted([%{replay_cassette: @path}])
      reg = registry!(%{clients: [bedrock(sc)]})
      opts = [tools: tools(recorded), options: options(recorded)]
      streamed = String.ends_with?(cassette["request"]["url"], "/converse-stream")

      {resp, expected} =
        if streamed do
          chunks = reg |> Switchboard.stream(prompt(recorded), opts) |> Enum.to_list()
          expected = expect_stream(cassette)

          assert Enum.flat_map(chunks, & &1.tool_calls) ==
                   Enum.map(expected.tool_calls, &%{&1 | arguments: nil})

          assert Enum.map_join(chunks, & &1.text) == expected.content
          %Chunk{response: resp} = List.last(chunks)
          {resp, expected}
        else
          assert {:ok, resp} = Switchboard.call(reg, prompt(recorded), opts)
          {resp, expect_whole(cassette["response"]["body"])}
        end

      assert [req] = requests(sc)
      assert req["json"] == recorded

      assert resp.tool_calls == expected.tool_calls
      assert resp.content == expected.content
      # A response without reasoning says nil.
      assert resp.reasoning == if(expected.reasoning == "", do: nil, else: expected.reasoning)
      assert resp.finish_reason == expected.stop

      if expected.tool_calls != [] do
        assert resp.finish == :tool_calls
      end
    end
  end
end
