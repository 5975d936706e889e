defmodule Switchboard.GoogleTest do
  @moduledoc """
  `google-ai` and `vertex-ai` over real HTTP against the mock: the exact
  requests, answers, Google's error statuses, streams and the reset rule.
  OAuth is in google_auth_test.exs.
  """
  use Switchboard.Case, async: true
  import Switchboard.GoogleHelpers
  alias Switchboard.Chunk

  @fast_retry %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 1}}

  defp policies(config), do: Map.put(config, :retry_policies, %{"Fast" => @fast_retry})

  describe "google-ai" do
    test "URL, x-goog-api-key header (never in the URL), body with options and per-call overrides" do
      sc =
        scripted([
          %{
            content: "Bonjour",
            thoughts: "Let me think.",
            usage: %{input_tokens: 30, output_tokens: 4, thoughts_tokens: 6}
          }
        ])

      reg =
        registry!(%{
          clients: [
            google_ai("Gemini", sc, %{
              temperature: 0.7,
              safetySettings: [%{category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_NONE"}],
              headers: %{"x-team" => "beam"},
              query_params: %{"tier" => "gold"},
              # The URL as is (the default fetches it: media_url_handler_test).
              media_url_handler: %{image: "send_url"}
            })
          ]
        })

      prompt = [
        %{role: "system", content: "Answer in French."},
        %{
          role: "user",
          content: [
            %{type: "text", text: "What is this?"},
            %{type: "image_url", image_url: %{url: "data:image/png;base64,iVBORw0K"}},
            %{type: "image_url", image_url: %{url: "https://example.com/cat.webp"}}
          ]
        },
        %{role: "assistant", content: "Un chat."},
        %{role: "user", content: "Again"}
      ]

      assert {:ok, %Response{} = resp} =
               Switchboard.call(reg, prompt,
                 options: %{max_tokens: 64, model: "gemini-2.5-pro", seed: 7}
               )

      assert [req] = requests(sc)
      assert req["method"] == "POST"
      assert req["path"] == "/v1beta/models/gemini-2.5-pro:generateContent"
      assert req["query"] == "tier=gold"
      refute req["query"] =~ "AIza"
      assert header(req, "x-goog-api-key") == "AIza-test-key"
      assert header(req, "authorization") == nil
      assert header(req, "content-type") == "application/json"
      assert header(req, "x-team") == "beam"

      assert req["json"] == %{
               "seed" => 7,
               "safetySettings" => [
                 %{"category" => "HARM_CATEGORY_HATE_SPEECH", "threshold" => "BLOCK_NONE"}
               ],
               "generationConfig" => %{"temperature" => 0.7, "maxOutputTokens" => 64},
               "systemInstruction" => %{"parts" => [%{"text" => "Answer in French."}]},
               "contents" => [
                 %{
                   "role" => "user",
                   "parts" => [
                     %{"text" => "What is this?"},
                     %{"inlineData" => %{"mimeType" => "image/png", "data" => "iVBORw0K"}},
                     %{
                       "fileData" => %{
                         "mimeType" => "image/webp",
                         "fileUri" => "https://example.com/cat.webp"
                       }
                     }
                   ]
                 },
                 %{"role" => "model", "parts" => [%{"text" => "Un chat."}]},
                 %{"role" => "user", "parts" => [%{"text" => "Again"}]}
               ]
             }

      # The thought summary is not the answer; thinking tokens are output.
      assert resp.content == "Bonjour"
      assert resp.finish_reason == "STOP"
      assert resp.model == "gemini-2.5-pro"
      assert resp.provider == "google-ai"
      assert %Usage{input_tokens: 30, output_tokens: 10, total_tokens: 40} = resp.usage
      assert [%Attempt{client: "Gemini", status: 200, error: nil}] = resp.attempts
    end

    test "a system message after the first turn is an :invalid_request error, nothing sent" do
      sc = scenario()
      reg = registry!(%{clients: [google_ai("G", sc)]})
      prompt = [%{role: "user", content: "a"}, %{role: "system", content: "late"}]
      assert {:error, %Error{kind: :invalid_request}} = Switchboard.call(reg, prompt)
      assert requests(sc) == []
    end

    test "a blocked prompt is an :invalid_request error, not retried" do
      sc = scripted([%{block_reason: "SAFETY"}, %{content: "never"}])
      reg = registry!(policies(%{clients: [google_ai("G", sc, %{}, "Fast")]}))

      assert {:error, %Error{kind: :invalid_request, status: 200, message: message}} =
               Switchboard.call(reg, "something bad")

      assert message =~ "blockReason SAFETY"
      assert length(requests(sc)) == 1
    end

    test "no text with a non-STOP finish reason is a :finish_reason error; STOP with no text is an empty answer" do
      sc =
        scripted([%{content: "", finish_reason: "SAFETY"}, %{content: "", finish_reason: "STOP"}])

      reg = registry!(%{clients: [google_ai("G", sc)]})

      assert {:error, %Error{kind: :finish_reason, message: message}} = Switchboard.call(reg, "x")

      assert message =~ "SAFETY"
      assert {:ok, %Response{content: "", finish_reason: "STOP"}} = Switchboard.call(reg, "x")
    end

    test "finish_reason_deny_list rejects an answer by Gemini's finish reason" do
      sc = scripted([%{content: "cut", finish_reason: "MAX_TOKENS"}])

      reg =
        registry!(%{clients: [google_ai("G", sc, %{finish_reason_deny_list: ["MAX_TOKENS"]})]})

      assert {:error, %Error{kind: :finish_reason}} = Switchboard.call(reg, "x")
    end
  end

  describe "Google error statuses" do
    # {status, HTTP status, kind, retried by a retry policy}
    @statuses [
      {"RESOURCE_EXHAUSTED", 429, :rate_limited, true},
      {"UNAVAILABLE", 503, :overloaded, true},
      {"INVALID_ARGUMENT", 400, :invalid_request, false},
      {"FAILED_PRECONDITION", 400, :invalid_request, false},
      {"UNAUTHENTICATED", 401, :auth, false},
      {"PERMISSION_DENIED", 403, :permission, false},
      {"NOT_FOUND", 404, :not_found, false},
      {"DEADLINE_EXCEEDED", 504, :timeout, true},
      {"INTERNAL", 500, :server, true}
    ]

    for {status, http, kind, retried} <- @statuses do
      @status status
      @http http
      @kind kind
      @retried retried

      test "#{status} (HTTP #{http}) is #{inspect(kind)}, #{if retried, do: "retried", else: "not retried"}" do
        for provider <- [:google_ai, :vertex] do
          sc = scripted([%{status: @http, error_type: @status}, %{content: "second try"}])

          client =
            case provider do
              :google_ai -> google_ai("G", sc, %{}, "Fast")
              :vertex -> vertex("G", sc, %{query_params: %{key: "AQ.express"}}, "Fast")
            end

          reg = registry!(policies(%{clients: [client]}))
          result = Switchboard.call(reg, "hi")

          if @retried do
            assert {:ok, %Response{content: "second try", attempts: [failed, _ok]}} = result
            assert %Attempt{status: @http, error: %Error{kind: @kind}} = failed
            assert length(requests(sc)) == 2
          else
            assert {:error,
                    %Error{kind: @kind, status: @http, message: message, raw_response: raw}} =
                     result

            assert message =~ @status
            assert raw =~ ~s("status")
            assert length(requests(sc)) == 1
          end
        end
      end
    end

    test "a Retry-After longer than the policy allows gives up at once, so a fallback answers" do
      sc = scripted([%{status: 429, headers: %{"retry-after" => "60"}}])
      backup = scripted([%{content: "from backup"}])

      reg = fallback_registry!([google_ai("G", sc, %{}, "DefaultRetry"), google_ai("B", backup)])

      assert {:ok, %Response{content: "from backup", client: "B"}} = Switchboard.call(reg, "hi")
      assert length(requests(sc)) == 1
    end
  end

  describe "streaming" do
    test "google-ai: streamGenerateContent?alt=sse, text as it comes, usage and finish reason" do
      sc =
        scripted([
          %{content: "One two three four", chunks: 4, usage: %{input_tokens: 9, output_tokens: 4}}
        ])

      reg = registry!(%{clients: [google_ai("G", sc)]})
      chunks = reg |> Switchboard.stream("Count") |> Enum.to_list()

      assert [req] = requests(sc)
      assert req["path"] == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
      assert req["query"] == "alt=sse"
      assert header(req, "x-goog-api-key") == "AIza-test-key"
      refute Map.has_key?(req["json"], "stream")

      text = chunks |> Enum.map(& &1.text) |> Enum.join()
      assert text == "One two three four"
      assert %Chunk{response: %Response{} = resp} = List.last(chunks)
      assert resp.content == "One two three four"
      assert resp.finish_reason == "STOP"
      assert %Usage{input_tokens: 9, output_tokens: 4, total_tokens: 13} = resp.usage
    end

    test "a stream that ends before any finishReason is a :network error, cut or not" do
      unfinished =
        ~s(data: {"candidates": [{"content": {"parts": [{"text": "half"}], "role": "model"}}]}\r\n\r\n)

      sc =
        scripted([
          %{content: "a b c d", chunks: 4, truncate_after: 2},
          %{body: unfinished, content_type: "text/event-stream"}
        ])

      reg = registry!(%{clients: [google_ai("G", sc)]})

      assert {:error, %Error{kind: :network}} =
               reg |> Switchboard.stream_to("x") |> await_terminal()

      assert {:error, %Error{kind: :network, status: 200, message: message}} =
               reg |> Switchboard.stream_to("x") |> await_terminal()

      assert message =~ "finishReason"
    end

    test "an error mid-stream maps by its status; after a reset, the fallback's text is the answer" do
      sc =
        scripted([
          %{content: "lost words here", chunks: 3, error_after: 2, error_type: "UNAVAILABLE"}
        ])

      backup = scripted([%{content: "kept answer", chunks: 2}])

      reg =
        fallback_registry!([
          google_ai("G", sc),
          vertex("V", backup, %{query_params: %{key: "AQ.express"}})
        ])

      call = Switchboard.stream_to(reg, "x", window: :infinity)
      {messages, result} = collect(call)

      assert [{:chunk, %Chunk{attempt: 1}} | _] = messages
      reset_at = Enum.find_index(messages, &match?({:reset, _}, &1))

      assert {:reset, %Attempt{client: "G", error: %Error{kind: :overloaded}}} =
               Enum.at(messages, reset_at)

      before = Enum.take(messages, reset_at)
      assert Enum.all?(before, &match?({:chunk, %Chunk{attempt: 1, client: "G"}}, &1))

      after_reset = for {:chunk, %Chunk{} = c} <- Enum.drop(messages, reset_at + 1), do: c
      assert Enum.all?(after_reset, &(&1.attempt == 2 and &1.client == "V"))
      assert Enum.map_join(after_reset, & &1.text) == "kept answer"

      assert {:ok, %Response{content: "kept answer", client: "V", attempts: [failed, ok]}} =
               result

      assert %Attempt{client: "G", status: 200, error: %Error{kind: :overloaded}} = failed
      assert %Attempt{client: "V", status: 200, error: nil} = ok
    end

    test "vertex Gemini streams with alt=sse; Claude on Vertex streams Anthropic events" do
      sc = scripted([%{content: "gem ini", chunks: 2}, %{content: "clau de", chunks: 2}])
      reg = registry!(%{clients: [vertex("V", sc, %{query_params: %{key: "AQ.express"}})]})

      assert [%Chunk{response: %Response{content: "gem ini", finish_reason: "STOP"}}] =
               reg |> Switchboard.stream("x") |> Enum.take(-1)

      assert [%Chunk{response: %Response{content: "clau de", finish_reason: "end_turn"} = resp}] =
               reg
               |> Switchboard.stream("x", options: %{model: "claude-haiku-4-5@20251001"})
               |> Enum.take(-1)

      assert resp.model =~ "claude-haiku-4-5"
      assert [gemini, claude] = requests(sc)

      assert gemini["path"] =~
               ~r{/publishers/google/models/gemini-2.5-flash:streamGenerateContent$}

      assert gemini["query"] == "alt=sse&key=AQ.express"

      assert claude["path"] ==
               "/v1/projects/test-proj/locations/us-central1/publishers/anthropic/models/claude-haiku-4-5@20251001:streamRawPredict"

      assert claude["query"] == "key=AQ.express"
      assert claude["json"]["stream"] == true
      assert claude["json"]["anthropic_version"] == "vertex-2023-10-16"
      refute Map.has_key?(claude["json"], "model")
    end
  end

  describe "vertex-ai" do
    test "regional URL, Express-mode key as ?key= (no token), Gemini body" do
      sc = scripted([%{content: "Hello Vertex", usage: %{input_tokens: 3, output_tokens: 2}}])

      reg =
        registry!(%{
          clients: [
            vertex("V", sc, %{
              location: "europe-west4",
              query_params: %{key: "AQ.express-key-123"},
              generationConfig: %{topK: 5}
            })
          ]
        })

      assert {:ok, %Response{content: "Hello Vertex", provider: "vertex-ai"} = resp} =
               Switchboard.call(reg, "hi", options: %{temperature: 0.3})

      assert [req] = requests(sc)

      assert req["path"] ==
               "/v1/projects/test-proj/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent"

      assert req["query"] == "key=AQ.express-key-123"
      assert header(req, "authorization") == nil
      assert header(req, "x-goog-api-key") == nil

      assert req["json"] == %{
               "generationConfig" => %{"topK" => 5, "temperature" => 0.3},
               "contents" => [%{"role" => "user", "parts" => [%{"text" => "hi"}]}]
             }

      assert %Usage{input_tokens: 3, output_tokens: 2, total_tokens: 5} = resp.usage
    end

    test "location global, and a token set in headers: instead of OAuth" do
      sc = scripted([%{content: "ok"}])

      reg =
        registry!(%{
          clients: [
            vertex("V", sc, %{
              location: "global",
              project_id: "other-proj",
              headers: %{"authorization" => "Bearer ya29.from-headers"}
            })
          ]
        })

      assert {:ok, %Response{content: "ok"}} = Switchboard.call(reg, "hi")
      assert [req] = requests(sc)

      assert req["path"] ==
               "/v1/projects/other-proj/locations/global/publishers/google/models/gemini-2.5-flash:generateContent"

      assert header(req, "authorization") == "Bearer ya29.from-headers"
    end

    test "Claude on Vertex: rawPredict, Anthropic body without model, anthropic_version, Anthropic answer" do
      sc =
        scripted([
          %{
            content: "Claude here",
            usage: %{input_tokens: 20, output_tokens: 5, cached_input_tokens: 10}
          }
        ])

      reg =
        registry!(%{
          clients: [
            vertex("V", sc, %{
              model: "claude-sonnet-4@20250514",
              location: "us-east5",
              query_params: %{key: "AQ.express"},
              temperature: 0.2
            })
          ]
        })

      prompt = [%{role: "system", content: "Be brief."}, %{role: "user", content: "Hi"}]

      assert {:ok, %Response{content: "Claude here", finish_reason: "end_turn"} = resp} =
               Switchboard.call(reg, prompt)

      assert [req] = requests(sc)

      assert req["path"] ==
               "/v1/projects/test-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict"

      assert req["json"] == %{
               "anthropic_version" => "vertex-2023-10-16",
               "max_tokens" => 4096,
               "temperature" => 0.2,
               "system" => "Be brief.",
               "messages" => [%{"role" => "user", "content" => "Hi"}]
             }

      assert resp.model =~ "claude-sonnet-4"
      assert %Usage{cached_input_tokens: 10} = resp.usage
    end

    test "Claude on Vertex errors: Anthropic's shape and Google's front end both map" do
      sc =
        scripted([
          %{status: 529, error_type: "overloaded_error"},
          %{status: 429, error_type: "RESOURCE_EXHAUSTED"}
        ])

      reg =
        registry!(%{
          clients: [
            vertex("V", sc, %{model: "claude-haiku-4-5@20251001", query_params: %{key: "AQ.k"}})
          ]
        })

      assert {:error, %Error{kind: :overloaded, status: 529}} = Switchboard.call(reg, "x")
      assert {:error, %Error{kind: :rate_limited, status: 429}} = Switchboard.call(reg, "x")
    end

    test "an Express key the server echoes back is redacted" do
      body =
        ~s({"error": {"code": 400, "message": "API key not valid: AQ.secret-express-key", "status": "INVALID_ARGUMENT"}})

      sc = scripted([%{status: 400, body: body}])

      reg =
        registry!(%{clients: [vertex("V", sc, %{query_params: %{key: "AQ.secret-express-key"}})]})

      assert {:error, %Error{kind: :invalid_request} = e} = Switchboard.call(reg, "x")
      refute inspect(e) =~ "secret-express-key"
      assert e.message =~ "[REDACTED]"
      refute inspect(reg) =~ "secret-express-key"
    end

    test "missing location or model, and Express mode without project_id, are :config errors naming the option" do
      for {options, says} <- [
            {%{model: "gemini-2.5-flash"}, "location"},
            {%{location: "us-central1"}, "model"},
            {%{model: "m", location: "us-central1", query_params: %{key: "k"}}, "project_id"}
          ] do
        assert {:error, %Error{kind: :config, message: message}} =
                 Registry.new(%{clients: [%{name: "V", provider: "vertex-ai", options: options}]})

        assert message =~ ~s(client "V")
        assert message =~ says
      end
    end
  end

  defp await_terminal(call), do: call |> collect() |> elem(1)
end
