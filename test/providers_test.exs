defmodule Switchboard.ProvidersTest do
  @moduledoc "The exact requests each provider sends, and how answers are read."
  use Switchboard.Case, async: true

  test "openai: URL, bearer auth, body with options and per-call overrides" do
    # The default answer, 50 ms late: the latency and the attempt's duration see it.
    sc = scripted([%{delay_ms: 50}])

    reg =
      registry!(%{
        clients: [
          openai("GPT", sc, %{
            temperature: 0.7,
            max_tokens: 50,
            headers: %{"x-team" => "beam"},
            query_params: %{"tier" => "gold"},
            http: %{request_timeout_ms: 5_000}
          })
        ]
      })

    prompt = [%{role: "system", content: "Be brief."}, %{role: "user", content: "Hi"}]

    assert {:ok, %Response{} = resp} =
             Switchboard.call(reg, prompt, options: %{temperature: 0.2, seed: 7})

    assert [req] = requests(sc)
    assert req["method"] == "POST"
    assert req["version"] == "HTTP/1.1"
    assert req["path"] == "/v1/chat/completions"
    assert req["query"] == "tier=gold"
    assert header(req, "authorization") == "Bearer sk-test"
    assert header(req, "content-type") == "application/json"
    assert header(req, "x-team") == "beam"

    assert req["json"] == %{
             "model" => "gpt-4o-mini",
             "temperature" => 0.2,
             "max_tokens" => 50,
             "seed" => 7,
             "messages" => [
               %{"role" => "system", "content" => "Be brief."},
               %{"role" => "user", "content" => "Hi"}
             ]
           }

    assert resp.content == "Hello from switchboard_mock."
    assert resp.finish_reason == "stop"
    assert resp.model == "gpt-4o-mini"
    assert resp.client == "GPT"
    assert resp.provider == "openai"

    assert %Usage{input_tokens: 12, output_tokens: 8, total_tokens: 20, cached_input_tokens: 0} =
             resp.usage

    assert [%Attempt{client: "GPT", status: 200, error: nil, duration_ms: attempt_ms}] =
             resp.attempts

    assert attempt_ms >= 50
    assert resp.latency_ms >= attempt_ms
  end

  test "anthropic: /v1/messages, x-api-key, version header, system prompt and default max_tokens" do
    sc =
      scripted([
        %{
          content: "Bonjour",
          usage: %{input_tokens: 30, output_tokens: 4, cached_input_tokens: 25}
        }
      ])

    reg = registry!(%{clients: [anthropic("Claude", sc, %{temperature: 0.1})]})

    prompt = [
      %{role: "system", content: "Answer in French."},
      %{role: "user", content: [%{type: "text", text: "Hello"}]},
      %{role: "assistant", content: "Salut"},
      %{role: "user", content: "Again"}
    ]

    assert {:ok, resp} = Switchboard.call(reg, prompt)
    assert [req] = requests(sc)
    assert req["path"] == "/v1/messages"
    assert header(req, "x-api-key") == "sk-ant-test"
    assert header(req, "anthropic-version") == "2023-06-01"
    assert header(req, "authorization") == nil

    assert req["json"] == %{
             "model" => "claude-haiku-4-5-20251001",
             "max_tokens" => 4096,
             "temperature" => 0.1,
             "system" => "Answer in French.",
             "messages" => [
               %{"role" => "user", "content" => [%{"type" => "text", "text" => "Hello"}]},
               %{"role" => "assistant", "content" => "Salut"},
               %{"role" => "user", "content" => "Again"}
             ]
           }

    assert resp.content == "Bonjour"
    assert resp.finish_reason == "end_turn"
    assert resp.provider == "anthropic"

    # Anthropic's 30 uncached input tokens plus its 25 cache reads.
    assert %Usage{input_tokens: 55, output_tokens: 4, total_tokens: 59, cached_input_tokens: 25} =
             resp.usage
  end

  test "anthropic: headers option overrides anthropic-version; max_tokens option wins" do
    sc = scenario()

    reg =
      registry!(%{
        clients: [
          anthropic("C", sc, %{max_tokens: 100, headers: %{"anthropic-version" => "2099-01-01"}})
        ]
      })

    assert {:ok, _} = Switchboard.call(reg, "hi")
    assert [req] = requests(sc)
    assert header(req, "anthropic-version") == "2099-01-01"
    assert req["json"]["max_tokens"] == 100
  end

  test "openai-generic and ollama: no auth header without a key" do
    sc = scenario()
    base = &Mock.base_url(mock(), sc, &1)

    reg =
      registry!(%{
        clients: [
          %{
            name: "Gen",
            provider: "openai-generic",
            options: %{base_url: base.("openai-generic"), model: "local"}
          },
          %{
            name: "Ol",
            provider: "ollama",
            options: %{base_url: base.("ollama"), model: "llama3"}
          }
        ]
      })

    assert {:ok, %Response{client: "Gen"}} = Switchboard.call(reg, "a", client: "Gen")

    assert {:ok, %Response{client: "Ol", provider: "ollama"}} =
             Switchboard.call(reg, "b", client: "Ol")

    assert [gen, ol] = requests(sc)
    assert header(gen, "authorization") == nil and header(ol, "authorization") == nil
    assert gen["json"]["model"] == "local" and ol["json"]["model"] == "llama3"
  end

  test "azure-openai: api-key header, api-version query and default max_tokens" do
    sc = scenario()
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

    assert {:ok, %Response{provider: "azure-openai"}} = Switchboard.call(reg, "hi")
    assert [req] = requests(sc)
    assert req["path"] == "/openai/deployments/gpt4/chat/completions"
    assert req["query"] == "api-version=2024-10-21"
    assert header(req, "api-key") == "az-key"
    assert header(req, "authorization") == nil
    assert req["json"]["max_tokens"] == 4096
  end

  test "image parts: OpenAI keeps image_url, Anthropic gets base64 and url sources" do
    sc_o = scenario()
    sc_a = scenario()
    reg = registry!(%{clients: [openai("O", sc_o), anthropic("A", sc_a)]})

    prompt = [
      %{
        role: "user",
        content: [
          %{type: "text", text: "What is this?"},
          %{type: "image_url", image_url: %{url: "data:image/png;base64,iVBORw0KGgo="}},
          %{type: "image_url", image_url: %{url: "https://example.com/cat.jpg"}}
        ]
      }
    ]

    assert {:ok, _} = Switchboard.call(reg, prompt, client: "O")
    assert {:ok, _} = Switchboard.call(reg, prompt, client: "A")
    [%{"json" => o}] = requests(sc_o)
    [%{"json" => a}] = requests(sc_a)

    assert [
             _,
             %{"type" => "image_url", "image_url" => %{"url" => "data:image/png;base64," <> _}},
             _
           ] = hd(o["messages"])["content"]

    assert [
             _,
             %{
               "type" => "image",
               "source" => %{
                 "type" => "base64",
                 "media_type" => "image/png",
                 "data" => "iVBORw0KGgo="
               }
             },
             %{
               "type" => "image",
               "source" => %{"type" => "url", "url" => "https://example.com/cat.jpg"}
             }
           ] = hd(a["messages"])["content"]
  end

  test "error bodies map to kinds and keep status, client and the raw body" do
    for {status, kind} <- [
          {400, :invalid_request},
          {401, :auth},
          {403, :permission},
          {404, :not_found},
          {422, :invalid_request},
          {429, :rate_limited},
          {500, :server},
          {503, :overloaded},
          {529, :overloaded}
        ],
        {builder, name} <- [{&openai/2, "O"}, {&anthropic/2, "A"}] do
      sc = scripted([%{status: status}])
      reg = registry!(%{clients: [builder.(name, sc)]})
      assert {:error, %Error{} = e} = Switchboard.call(reg, "hi")
      assert {e.kind, e.status, e.client} == {kind, status, name}, "#{name} #{status}"
      assert is_binary(e.raw_response) and e.raw_response != ""
      assert [%Attempt{status: ^status, error: %Error{kind: ^kind}}] = e.attempts
    end
  end

  test "a key echoed back by the provider is removed from the error" do
    secret = "sk-live-abcdef123456"

    sc =
      scripted([
        %{
          status: 401,
          body:
            ~s({"error":{"message":"Incorrect API key provided: #{secret}","type":"invalid_request_error"}})
        }
      ])

    reg = registry!(%{clients: [openai("O", sc, %{api_key: secret})]})
    assert {:error, %Error{kind: :auth} = e} = Switchboard.call(reg, "hi")
    refute inspect(e) =~ secret
    refute Exception.message(e) =~ secret
    assert e.message =~ "[REDACTED]"
  end

  test "malformed and truncated 200 bodies are bad_response / network errors" do
    sc = scripted([%{malformed: true}])
    reg = registry!(%{clients: [openai("O", sc)]})
    assert {:error, %Error{kind: :bad_response, status: 200}} = Switchboard.call(reg, "hi")

    sc = scripted([%{truncate_at: 10}])
    reg = registry!(%{clients: [anthropic("A", sc)]})
    assert {:error, %Error{kind: :network}} = Switchboard.call(reg, "hi")

    sc = scripted([%{drop: true}])
    reg = registry!(%{clients: [openai("O", sc)]})
    assert {:error, %Error{kind: :network}} = Switchboard.call(reg, "hi")
  end

  test "finish_reason allow and deny lists" do
    sc =
      scripted([%{finish_reason: "length"}, %{finish_reason: "length"}, %{finish_reason: "stop"}])

    reg =
      registry!(%{
        clients: [
          openai("Allow", sc, %{finish_reason_allow_list: ["STOP"]}, "DefaultRetry"),
          openai("Deny", sc, %{finish_reason_deny_list: ["length"]})
        ]
      })

    assert {:error, %Error{kind: :finish_reason, status: 200} = e} =
             Switchboard.call(reg, "hi", client: "Allow")

    # Not retried despite DefaultRetry.
    assert length(e.attempts) == 1
    assert {:error, %Error{kind: :finish_reason}} = Switchboard.call(reg, "hi", client: "Deny")
    assert {:ok, %Response{finish_reason: "stop"}} = Switchboard.call(reg, "hi", client: "Deny")
  end

  test "http2_prior_knowledge speaks cleartext HTTP/2 and shares one connection" do
    sc = scenario()
    # A connect timeout no other test uses: a connection pool of its own.
    http = %{http2_prior_knowledge: true, connect_timeout_ms: 9_871}
    reg = registry!(%{clients: [openai("H2", sc, %{http: http})]})

    calls = for i <- 1..20, do: Switchboard.async(reg, "q#{i}")
    assert Enum.all?(calls, &match?({:ok, %Response{}}, Switchboard.await(&1)))
    reqs = requests(sc)
    assert length(reqs) == 20
    assert Enum.all?(reqs, &(&1["version"] == "HTTP/2.0"))
    assert {:ok, %Response{}} = Switchboard.call(reg, "again", client: "H2")
    # Twenty concurrent calls and one more, all multiplexed on one connection.
    assert [_one] = requests(sc) |> Enum.map(& &1["connection"]) |> Enum.uniq()
  end

  test "HTTP/1.1 calls one after another reuse one pooled connection" do
    sc = scenario()
    # A connect timeout no other test uses: a connection pool of its own.
    reg = registry!(%{clients: [openai("H1", sc, %{http: %{connect_timeout_ms: 9_872}})]})

    for i <- 1..5, do: assert({:ok, %Response{}} = Switchboard.call(reg, "q#{i}"))
    reqs = requests(sc)
    assert Enum.all?(reqs, &(&1["version"] == "HTTP/1.1"))
    assert [id] = reqs |> Enum.map(& &1["connection"]) |> Enum.uniq()
    assert is_integer(id) and id > 0
  end
end
