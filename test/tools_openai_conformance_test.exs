defmodule Switchboard.ToolsOpenAIConformanceTest do
  @moduledoc """
  Recorded OpenAI chat-completions traffic with tool calls, replayed by the
  mock through the real client path: req_llm cassettes for OpenAI and Azure
  OpenAI (whole answers) and openai-python's recorded streams. The call is
  made with the recording's own tools and tool choice; the request sent
  must be the recorded one, and the answer must give the recorded tool
  names, ids and arguments. Recorded tool loops are replayed turn by turn
  (the second request must carry the recorded history), and DeepSeek-R1's
  `reasoning_content` must come back as reasoning, apart from the text.
  """
  use Switchboard.Case, async: true

  alias Switchboard.{Chunk, ToolCall}

  @moduletag :conformance

  @root Switchboard.Case.conformance_root()

  chat? = fn path -> File.read!(path) =~ ~r{"url"\s*:\s*"[^"]*/chat/completions} end

  @cassettes ["openai-chat/req_llm/openai/gpt_4o_mini", "azure-openai/req_llm/azure/*"]
             |> Enum.flat_map(
               &Path.wildcard(Path.join([@root, &1, "{tool_round_trip_1,multi_tool}.json"]))
             )
             |> Enum.filter(chat?)

  # Tool loops whose second turn was recorded too.
  @loops for first <- @cassettes,
             Path.basename(first) == "tool_round_trip_1.json",
             second = Path.join(Path.dirname(first), "tool_round_trip_2.json"),
             File.exists?(second) and chat?.(second),
             do: {first, second}

  # Recordings whose answers carry reasoning apart from the text.
  @reasoning Path.wildcard(Path.join(@root, "{openai-chat,azure-openai}/req_llm/**/*.json"))
             |> Enum.filter(&(chat?.(&1) and File.read!(&1) =~ "reasoning_content"))
             # Streamed cassettes keep their reads base64-encoded.
             |> Enum.concat(
               Path.wildcard(
                 Path.join(@root, "azure-openai/req_llm/azure/deepseek_r1/streaming.json")
               )
             )

  @streams Path.wildcard(
             Path.join(@root, "openai-chat/openai-python-inline-snapshot/*tools*.sse")
           )

  # Body fields of a recorded request that are not the prompt, tools or
  # streaming mode: sent as the client's options.
  @prompt_fields ~w(messages tools tool_choice stream stream_options)

  # --- the call a recording made ---------------------------------------------

  defp client(cassette, sc) do
    body = cassette["request"]["canonical_json"]

    options = for {k, v} <- Map.drop(body, @prompt_fields), into: %{}, do: {String.to_atom(k), v}

    if String.contains?(cassette["request"]["url"], ".azure.com/") do
      base = Mock.base_url(mock(), sc) <> "/openai/deployments/recorded"

      %{
        name: "C",
        provider: "azure-openai",
        options: Map.merge(options, %{base_url: base, api_key: "az-test"})
      }
    else
      openai("C", sc, options)
    end
  end

  defp tools(body) do
    for %{"type" => "function", "function" => f} <- body["tools"] || [] do
      %{name: f["name"], description: f["description"], parameters: f["parameters"]}
    end
  end

  defp tool_choice(nil), do: []
  defp tool_choice(%{"function" => %{"name" => name}}), do: [tool_choice: {:tool, name}]

  defp tool_choice(choice) when choice in ~w(auto none required),
    do: [tool_choice: String.to_atom(choice)]

  defp call_opts(body), do: [tools: tools(body)] ++ tool_choice(body["tool_choice"])

  defp prompt(messages) do
    for m <- messages do
      %{role: m["role"], content: m["content"]}
    end
  end

  # --- what a recording says the answer is -----------------------------------

  defp recorded_calls(message) do
    for %{"id" => id, "function" => %{"name" => name, "arguments" => args}} <-
          message["tool_calls"] || [] do
      %ToolCall{id: id, name: name, arguments: Mock.decode_json(mock(), args)}
    end
  end

  defp stream_calls(events) do
    deltas =
      for %{"json" => %{"choices" => choices}} <- events,
          %{"index" => 0, "delta" => %{"tool_calls" => calls}} <- choices,
          call <- calls,
          do: call

    deltas
    |> Enum.group_by(& &1["index"])
    |> Enum.sort_by(fn {index, _} -> index end)
    |> Enum.map(fn {_, pieces} ->
      args = Enum.map_join(pieces, &(&1["function"]["arguments"] || ""))

      %ToolCall{
        id: Enum.find_value(pieces, & &1["id"]),
        name: Enum.find_value(pieces, & &1["function"]["name"]),
        arguments: Mock.decode_json(mock(), args)
      }
    end)
  end

  # --- tests -----------------------------------------------------------------

  test "the corpus has tool recordings to replay" do
    assert length(@cassettes) >= 6
    assert length(@loops) >= 3
    assert length(@streams) >= 3
    assert length(@reasoning) >= 5
  end

  for path <- @reasoning do
    @path path
    test "reasoning from #{Path.relative_to(path, @root)}" do
      cassette = Mock.read_json(mock(), @path)
      recorded = cassette["request"]["canonical_json"]
      sc = scripted([%{replay_cassette: @path}])
      reg = registry!(%{clients: [client(cassette, sc)]})
      prompt = prompt(recorded["messages"])

      case cassette do
        %{"response" => %{"body" => %{"choices" => [choice | _]}}} ->
          assert {:ok, %Response{} = resp} = Switchboard.call(reg, prompt)
          assert resp.reasoning == choice["message"]["reasoning_content"]
          assert resp.content == choice["message"]["content"]

        %{"chunks" => [_ | _]} ->
          events = Mock.read_sse_events(mock(), @path)

          deltas =
            for %{"json" => %{"choices" => cs}} <- events,
                %{"index" => 0, "delta" => d} <- cs,
                do: d

          chunks = Enum.to_list(Switchboard.stream(reg, prompt))
          assert %Chunk{response: %Response{} = resp} = List.last(chunks)
          reasoning = for d <- deltas, r = d["reasoning_content"], is_binary(r), into: "", do: r
          assert reasoning != ""
          assert resp.reasoning == reasoning
          assert Enum.map_join(chunks, & &1.reasoning) == reasoning
          assert resp.content == for(d <- deltas, t = d["content"], is_binary(t), into: "", do: t)
      end
    end
  end

  for path <- @cassettes do
    @path path
    test "replays #{Path.relative_to(path, @root)} with its tools" do
      cassette = Mock.read_json(mock(), @path)
      recorded = cassette["request"]["canonical_json"]
      body = cassette["response"]["body"]
      [choice | _] = body["choices"]

      sc = scripted([%{replay_cassette: @path}])
      reg = registry!(%{clients: [client(cassette, sc)]})

      assert {:ok, %Response{} = resp} =
               Switchboard.call(reg, prompt(recorded["messages"]), call_opts(recorded))

      assert [req] = requests(sc)
      assert req["json"] == Map.drop(recorded, ["stream"])

      assert [_ | _] = expected = recorded_calls(choice["message"])
      assert resp.tool_calls == expected
      assert resp.content == (choice["message"]["content"] || "")
      assert resp.finish_reason == choice["finish_reason"]
      assert resp.finish == :tool_calls
      assert resp.usage == recorded_usage(:openai, body["usage"])
    end
  end

  for {first, second} <- @loops do
    @first first
    @second second
    test "a tool loop: #{Path.relative_to(first, @root)} then its second turn" do
      one = Mock.read_json(mock(), @first)
      two = Mock.read_json(mock(), @second)
      sc = scripted([%{replay_cassette: @first}, %{replay_cassette: @second}])
      reg = registry!(%{clients: [client(one, sc)]})
      question = prompt(one["request"]["canonical_json"]["messages"])
      opts = call_opts(one["request"]["canonical_json"])

      assert {:ok, %Response{tool_calls: [call]} = first} = Switchboard.call(reg, question, opts)

      # The recorded second turn's tool result.
      [_, _, %{"role" => "tool", "content" => result}] =
        two["request"]["canonical_json"]["messages"]

      history =
        question ++
          [
            %{role: "assistant", content: first.content, tool_calls: first.tool_calls},
            %{role: "tool", tool_call_id: call.id, content: result}
          ]

      assert {:ok, %Response{finish: :stop, tool_calls: []} = final} =
               Switchboard.call(reg, history, opts)

      [answer | _] = two["response"]["body"]["choices"]
      assert final.content == answer["message"]["content"]

      # The history sent is the recorded one, in OpenAI's own form (req_llm
      # also sent an empty content list and the tool's name, which OpenAI
      # does not need).
      assert [_, req] = requests(sc)
      [user, assistant, tool] = two["request"]["canonical_json"]["messages"]

      assert req["json"]["messages"] == [
               user,
               %{
                 "role" => "assistant",
                 "content" => nil,
                 "tool_calls" => assistant["tool_calls"]
               },
               Map.delete(tool, "name")
             ]
    end
  end

  for path <- @streams do
    @path path
    test "streams #{Path.relative_to(path, @root)}" do
      events = Mock.read_sse_events(mock(), @path)
      assert [_ | _] = expected = stream_calls(events)

      finish =
        for(
          %{"json" => %{"choices" => cs}} <- events,
          %{"index" => 0, "finish_reason" => r} <- cs,
          r,
          do: r
        )
        |> List.last()

      sc = scripted([%{replay_file: @path}])
      reg = registry!(%{clients: [openai("C", sc)]})
      tools = for c <- expected, uniq: true, do: %{name: c.name}

      chunks = Enum.to_list(Switchboard.stream(reg, "Hello", tools: tools))
      assert %Chunk{response: %Response{} = resp} = List.last(chunks)

      assert resp.tool_calls == expected
      assert Enum.flat_map(chunks, & &1.tool_calls) == Enum.map(expected, &%{&1 | arguments: nil})
      assert resp.finish_reason == finish
      assert resp.finish == :tool_calls
    end
  end
end
