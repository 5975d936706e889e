defmodule Switchboard.ResponsesTest do
  @moduledoc """
  The `openai-responses` provider (OpenAI Responses API) over real HTTP
  against the mock server: the exact requests, how completed, incomplete and
  failed responses read, streams, and the provider inside strategies.
  """
  use Switchboard.Case, async: true

  alias Switchboard.Chunk

  # An openai-responses client whose base_url is the mock's scenario.
  defp responses(name, sc, options \\ %{}, retry_policy \\ nil) do
    client = %{
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

    if retry_policy, do: Map.put(client, :retry_policy, retry_policy), else: client
  end

  test "POST {base_url}/responses: bearer auth, headers, query, input items and options" do
    sc = scenario()

    reg =
      registry!(%{
        clients: [
          responses("R", sc, %{
            reasoning: %{effort: "low"},
            store: false,
            text: %{verbosity: "low"},
            max_output_tokens: 500,
            headers: %{"x-team" => "beam"},
            query_params: %{"tier" => "gold"},
            http: %{request_timeout_ms: 5_000},
            finish_reason_deny_list: ["content_filter"]
          })
        ]
      })

    prompt = [
      %{role: "system", content: "Be brief."},
      %{
        role: "user",
        content: [
          %{type: "text", text: "What is this?"},
          %{type: "image_url", image_url: %{url: "https://example.com/cat.jpg"}}
        ]
      },
      %{role: "assistant", content: "A cat."},
      %{role: "user", content: "Sure?"}
    ]

    assert {:ok, %Response{} = resp} =
             Switchboard.call(reg, prompt,
               options: %{temperature: 0.2, max_tokens: 50, model: "gpt-5-mini"}
             )

    assert [req] = requests(sc)
    assert req["method"] == "POST"
    assert req["path"] == "/v1/responses"
    assert req["query"] == "tier=gold"
    assert header(req, "authorization") == "Bearer sk-test"
    assert header(req, "content-type") == "application/json"
    assert header(req, "x-team") == "beam"

    # The call's max_tokens is the Responses API's max_output_tokens.
    assert req["json"] == %{
             "model" => "gpt-5-mini",
             "reasoning" => %{"effort" => "low"},
             "store" => false,
             "text" => %{"verbosity" => "low"},
             "max_output_tokens" => 50,
             "temperature" => 0.2,
             "input" => [
               %{
                 "role" => "system",
                 "content" => [%{"type" => "input_text", "text" => "Be brief."}]
               },
               %{
                 "role" => "user",
                 "content" => [
                   %{"type" => "input_text", "text" => "What is this?"},
                   %{
                     "type" => "input_image",
                     "image_url" => "https://example.com/cat.jpg",
                     "detail" => "auto"
                   }
                 ]
               },
               %{
                 "role" => "assistant",
                 "content" => [%{"type" => "output_text", "text" => "A cat."}]
               },
               %{"role" => "user", "content" => [%{"type" => "input_text", "text" => "Sure?"}]}
             ]
           }

    assert resp.content == "Hello from switchboard_mock."
    assert resp.provider == "openai-responses"
    assert resp.client == "R"
    assert resp.model == "gpt-5-mini"
    assert [%Attempt{client: "R", status: 200, error: nil}] = resp.attempts
  end

  test "a client's max_tokens is sent as max_output_tokens; input and stream are not call options" do
    sc = scenario()
    reg = registry!(%{clients: [responses("R", sc, %{max_tokens: 300})]})
    assert {:ok, _} = Switchboard.call(reg, "hi")
    assert [%{"json" => json}] = requests(sc)
    assert json["max_output_tokens"] == 300
    refute Map.has_key?(json, "max_tokens") or Map.has_key?(json, "stream")

    for option <- [:input, :stream] do
      assert {:error, %Error{kind: :invalid_request, message: msg}} =
               Switchboard.call(reg, "hi", options: %{option => "x"})

      assert msg =~ to_string(option)
    end
  end

  test "completed: output_text of message items only, finish reason stop, usage" do
    sc =
      scripted([
        %{
          content: "The answer.",
          usage: %{input_tokens: 40, output_tokens: 300, cached_input_tokens: 32}
        }
      ])

    # gpt-5 answers with a reasoning item before the message.
    reg = registry!(%{clients: [responses("R", sc)]})
    assert {:ok, %Response{} = resp} = Switchboard.call(reg, "hi")
    assert resp.content == "The answer."
    assert resp.finish_reason == "stop"
    assert resp.model == "gpt-5"

    assert resp.usage == %Usage{
             input_tokens: 40,
             output_tokens: 300,
             total_tokens: 340,
             cached_input_tokens: 32,
             reasoning_tokens: 0
           }
  end

  test "incomplete: the reason is the finish reason, and the deny list rejects it" do
    sc =
      scripted([
        %{content: "Once upon a", finish_reason: "max_output_tokens"},
        %{content: "[filtered]", finish_reason: "content_filter"},
        %{content: "Once upon a", finish_reason: "max_output_tokens"},
        %{content: "The end."}
      ])

    reg =
      registry!(%{
        clients: [
          responses("R", sc),
          responses(
            "Strict",
            sc,
            %{finish_reason_deny_list: ["max_output_tokens"]},
            "DefaultRetry"
          )
        ]
      })

    assert {:ok, %Response{content: "Once upon a", finish_reason: "max_output_tokens"} = resp} =
             Switchboard.call(reg, "story", client: "R")

    assert resp.usage.output_tokens == 8

    assert {:ok, %Response{finish_reason: "content_filter"}} =
             Switchboard.call(reg, "story", client: "R")

    # Rejected, and not retried despite DefaultRetry.
    assert {:error, %Error{kind: :finish_reason, status: 200, client: "Strict"} = e} =
             Switchboard.call(reg, "story", client: "Strict")

    assert e.message =~ "max_output_tokens"
    assert length(e.attempts) == 1
    assert {:ok, %Response{finish_reason: "stop"}} = Switchboard.call(reg, "story", client: "R")
  end

  test "a rejected max_output_tokens lets a fallback to a chat completions client answer" do
    a = scripted([%{finish_reason: "max_output_tokens"}])
    b = scripted([%{content: "from chat"}])

    reg =
      fallback_registry!([
        responses("R", a, %{finish_reason_allow_list: ["stop"]}),
        openai("O", b)
      ])

    assert {:ok, %Response{client: "O", content: "from chat", provider: "openai"} = resp} =
             Switchboard.call(reg, "hi")

    assert [%Attempt{error: %Error{kind: :finish_reason}}, %Attempt{error: nil}] = resp.attempts
  end

  test "failed responses are errors of the kind their code says" do
    for {code, kind} <- [
          {"rate_limit_exceeded", :rate_limited},
          {"server_error", :server},
          {"invalid_prompt", :invalid_request},
          {"invalid_image_url", :invalid_request},
          {"insufficient_quota", :rate_limited},
          {"vector_store_timeout", :timeout},
          {"something_new", :server}
        ] do
      sc = scripted([%{finish_reason: "failed", error_type: code}])
      reg = registry!(%{clients: [responses("R", sc)]})
      assert {:error, %Error{} = e} = Switchboard.call(reg, "hi")
      assert {e.kind, e.status, e.client} == {kind, 200, "R"}, code
      assert e.raw_response =~ ~s("status":"failed")
      assert e.raw_response =~ code
      assert [%Attempt{status: 200, error: %Error{kind: ^kind}}] = e.attempts
    end
  end

  test "a failed response with a server code is retried; an invalid prompt is not" do
    sc = scripted([%{finish_reason: "failed"}, %{content: "second try"}])
    reg = registry!(%{clients: [responses("R", sc, %{}, "DefaultRetry")]})
    assert {:ok, %Response{content: "second try"} = resp} = Switchboard.call(reg, "hi")
    assert [%Attempt{error: %Error{kind: :server}}, %Attempt{error: nil}] = resp.attempts

    sc = scripted([%{finish_reason: "failed", error_type: "invalid_prompt"}, %{}])
    reg = registry!(%{clients: [responses("R", sc, %{}, "DefaultRetry")]})
    assert {:error, %Error{kind: :invalid_request, attempts: [_]}} = Switchboard.call(reg, "hi")
    assert length(requests(sc)) == 1
  end

  test "HTTP errors with OpenAI's error bodies map to kinds" do
    for {status, kind} <- [
          {400, :invalid_request},
          {401, :auth},
          {403, :permission},
          {404, :not_found},
          {429, :rate_limited},
          {500, :server},
          {503, :overloaded}
        ] do
      sc = scripted([%{status: status}])
      reg = registry!(%{clients: [responses("R", sc)]})
      assert {:error, %Error{} = e} = Switchboard.call(reg, "hi")
      assert {e.kind, e.status, e.client} == {kind, status, "R"}
      assert e.raw_response =~ "error"
    end
  end

  test "malformed, truncated and dropped answers" do
    sc = scripted([%{malformed: true}, %{truncate_at: 10}, %{drop: true}])
    reg = registry!(%{clients: [responses("R", sc)]})
    assert {:error, %Error{kind: :bad_response, status: 200}} = Switchboard.call(reg, "hi")
    assert {:error, %Error{kind: :network}} = Switchboard.call(reg, "hi")
    assert {:error, %Error{kind: :network}} = Switchboard.call(reg, "hi")
  end

  describe "streaming" do
    test "deltas in order, the final text is their concatenation, usage and model" do
      words = for i <- 1..30, do: "w#{i} "
      content = Enum.join(words)

      sc =
        scripted([
          %{
            content: content,
            chunks: 30,
            usage: %{input_tokens: 21, output_tokens: 30, cached_input_tokens: 5}
          }
        ])

      reg = registry!(%{clients: [responses("R", sc)]})
      {messages, result} = collect(Switchboard.stream_to(reg, "count"))

      assert {:ok, %Response{} = resp} = result
      assert length(messages) in 1..30
      assert Enum.all?(messages, fn {:chunk, c} -> c.text != "" and c.client == "R" end)
      assert text(messages) == content and resp.content == content
      assert resp.finish_reason == "stop"
      assert resp.model == "gpt-5"

      assert resp.usage == %Usage{
               input_tokens: 21,
               output_tokens: 30,
               total_tokens: 51,
               cached_input_tokens: 5,
               reasoning_tokens: 0
             }

      assert [req] = requests(sc)
      assert req["path"] == "/v1/responses"
      assert req["json"]["stream"] == true
      refute Map.has_key?(req["json"], "stream_options")
    end

    test "deltas that arrive apart are delivered apart; stream/3 ends with the response" do
      # 300 ms apart, so a loaded machine may merge two of them but not all.
      sc = scripted([%{content: "a b c", chunks: 3, chunk_delay_ms: 300}])
      reg = registry!(%{clients: [responses("R", sc, %{model: "gpt-4o"})]})
      chunks = Enum.to_list(Switchboard.stream(reg, "hi"))
      texts = Enum.map(chunks, & &1.text)
      assert Enum.join(texts) == "a b c" and List.last(texts) == ""
      assert length(texts) >= 3
      assert %Response{content: "a b c", finish_reason: "stop"} = List.last(chunks).response
    end

    # 7-byte reads land mid-line and mid-character all over the stream; the
    # Rust tests feed recorded Responses streams one byte at a time.
    test "multi-byte text split into 7-byte reads arrives intact" do
      content = "изве U+2028:\u2028 emoji 👋🏽 done"
      sc = scripted([%{content: content, chunks: 6, split_bytes: 7}])
      reg = registry!(%{clients: [responses("R", sc)]})
      {messages, {:ok, resp}} = collect(Switchboard.stream_to(reg, "hi"))
      assert resp.content == content
      assert text(messages) == content
    end

    test "response.incomplete ends the stream with its reason, which the lists see" do
      sc =
        scripted([
          %{content: "Once upon", chunks: 2, finish_reason: "max_output_tokens"},
          %{content: "Once upon", chunks: 2, finish_reason: "max_output_tokens"}
        ])

      reg =
        registry!(%{
          clients: [
            responses("R", sc),
            responses("Strict", sc, %{finish_reason_deny_list: ["max_output_tokens"]})
          ]
        })

      {messages, {:ok, resp}} = collect(Switchboard.stream_to(reg, "hi", client: "R"))
      assert text(messages) == "Once upon"
      assert resp.finish_reason == "max_output_tokens"
      assert resp.usage.output_tokens == 8

      assert {_, {:error, %Error{kind: :finish_reason}}} =
               collect(Switchboard.stream_to(reg, "hi", client: "Strict"))
    end

    test "response.failed after deltas is an error of its code's kind" do
      sc =
        scripted([
          %{content: "a b c", chunks: 3, finish_reason: "failed", error_type: "invalid_prompt"}
        ])

      reg = registry!(%{clients: [responses("R", sc, %{}, "DefaultRetry")]})
      {messages, result} = collect(Switchboard.stream_to(reg, "hi"))
      assert text(messages) == "a b c"
      assert {:error, %Error{kind: :invalid_request, status: 200, attempts: [_]}} = result
    end

    test "an error event is retried after a reset, and chunks carry their attempt" do
      sc =
        scripted([
          %{content: "bad bad bad bad", chunks: 4, error_after: 2},
          %{content: "good answer", chunks: 2}
        ])

      reg =
        registry!(%{
          clients: [responses("R", sc, %{}, "Quick")],
          retry_policies: %{
            "Quick" => %{max_retries: 2, strategy: %{type: "constant_delay", delay_ms: 10}}
          }
        })

      {messages, {:ok, %Response{content: "good answer"} = resp}} =
        collect(Switchboard.stream_to(reg, "hi"))

      {before, [{:reset, failed} | later]} = Enum.split_while(messages, &match?({:chunk, _}, &1))
      assert text(before) == "bad bad"
      assert Enum.all?(before, &match?({:chunk, %Chunk{attempt: 1}}, &1))
      assert %Attempt{client: "R", status: 200, error: %Error{kind: :server}} = failed
      assert Enum.all?(later, &match?({:chunk, %Chunk{attempt: 2}}, &1))
      assert text(later) == "good answer"
      assert [%Attempt{error: %Error{kind: :server}}, %Attempt{error: nil}] = resp.attempts
    end

    test "a rate-limit error event mid-stream falls back to a chat completions client after a reset" do
      a =
        scripted([
          %{
            content: "one two six ten",
            chunks: 4,
            error_after: 2,
            error_type: "rate_limit_exceeded"
          }
        ])

      b = scripted([%{content: "from chat", chunks: 2}])

      reg = fallback_registry!([responses("R", a), openai("O", b)])

      {messages, {:ok, resp}} = collect(Switchboard.stream_to(reg, "hi"))
      {before, [{:reset, failed} | later]} = Enum.split_while(messages, &match?({:chunk, _}, &1))
      assert text(before) == "one two"
      assert Enum.all?(before, &match?({:chunk, %Chunk{client: "R", attempt: 1}}, &1))

      assert %Attempt{client: "R", error: %Error{kind: :rate_limited, message: msg}} = failed
      assert msg =~ "Rate limit"
      assert Enum.all?(later, &match?({:chunk, %Chunk{client: "O", attempt: 2}}, &1))
      assert text(later) == "from chat"
      assert resp.client == "O" and resp.content == "from chat"
    end

    test "error events in the nested shape, and unknown events, are read too" do
      event = fn name, json -> Base.encode64("event: #{name}\ndata: #{json}\n\n") end

      head = [
        event.(
          "response.created",
          ~s({"type":"response.created","response":{"status":"in_progress","output":[]}})
        ),
        event.(
          "response.output_text.delta",
          ~s({"type":"response.output_text.delta","delta":"par"})
        ),
        event.("response.future_thing", ~s({"type":"response.future_thing","delta":{"x":[1]}})),
        event.(
          "response.output_text.delta",
          ~s({"type":"response.output_text.delta","delta":"tial"})
        )
      ]

      nested =
        event.(
          "error",
          ~s({"type":"error","error":{"type":"invalid_request_error","code":"rate_limit_exceeded","message":"Too many requests","param":null},"sequence_number":4})
        )

      a = scripted([%{replay_chunks_b64: head ++ [nested], content_type: "text/event-stream"}])
      b = scripted([%{content: "fine", chunks: 1}])

      reg = fallback_registry!([responses("R", a), responses("S", b)])

      {messages, {:ok, resp}} = collect(Switchboard.stream_to(reg, "hi"))
      assert [{:chunk, %Chunk{client: "R"}} | _] = messages

      assert {:reset, %Attempt{error: %Error{kind: :rate_limited, message: "Too many requests"}}} =
               Enum.find(messages, &match?({:reset, _}, &1))

      assert resp.client == "S" and resp.content == "fine"
    end

    test "a stream that ends without a terminal event is a network error" do
      sc = scripted([%{content: "one two six ten", chunks: 4, truncate_after: 2}])
      reg = registry!(%{clients: [responses("R", sc)]})
      {messages, result} = collect(Switchboard.stream_to(reg, "hi"))
      assert text(messages) == "one two"
      assert {:error, %Error{kind: :network}} = result
    end
  end

  describe "in strategies next to chat completions clients" do
    test "fallback: a failing chat client, then openai-responses answers" do
      [a, b] = [scripted([%{status: 500}]), scripted([%{content: "via responses"}])]

      reg = fallback_registry!([openai("O", a), responses("R", b)])

      assert {:ok, %Response{client: "R", provider: "openai-responses"} = resp} =
               Switchboard.call(reg, "hi")

      assert resp.content == "via responses"
      assert attempt_clients(resp) == ["O", "R"]
      assert [%{"path" => "/v1/chat/completions"}] = requests(a)
      assert [%{"path" => "/v1/responses"}] = requests(b)
    end

    test "round-robin alternates between the two APIs, plain and streamed" do
      [a, b] = [scenario(), scenario()]

      reg =
        registry!(%{
          primary: "RR",
          clients: [
            openai("O", a),
            responses("R", b),
            %{name: "RR", provider: "round-robin", options: %{strategy: ["O", "R"]}}
          ]
        })

      answered =
        for i <- 1..4 do
          %Response{client: client, provider: provider, content: content} =
            if i in [2, 3] do
              List.last(Enum.to_list(Switchboard.stream(reg, "hi"))).response
            else
              Switchboard.call!(reg, "hi")
            end

          assert content == "Hello from switchboard_mock."
          {client, provider}
        end

      assert answered == [
               {"O", "openai"},
               {"R", "openai-responses"},
               {"O", "openai"},
               {"R", "openai-responses"}
             ]

      assert Enum.map(requests(a), & &1["json"]["stream"]) == [nil, true]
      assert Enum.map(requests(b), & &1["json"]["stream"]) == [true, nil]
    end
  end
end
