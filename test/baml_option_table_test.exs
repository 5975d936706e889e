defmodule Switchboard.BamlOptionTable do
  @moduledoc """
  The README's "BAML client options" table, parsed: one map per row with
  the option cell (backticks removed), the names it holds, the providers
  it applies to (`all` expanded), what Switchboard does (`:honoured`,
  `:sent`, `:checked`, `:refused`), the quoted words of its `:config`
  error, and the test file that shows it.
  """

  @readme Path.expand("../README.md", __DIR__)
  @section "### BAML client options"
  @leaves ~w(openai openai-generic azure-openai ollama openrouter openai-responses
             anthropic google-ai vertex-ai aws-bedrock)

  @doc "The README's path."
  def readme, do: @readme

  @doc "The HTTP providers `all` stands for."
  def leaves, do: @leaves

  @doc "The table's rows, in order."
  def rows do
    text = File.read!(@readme)
    [_, after_heading] = String.split(text, @section <> "\n", parts: 2)
    [section | _] = String.split(after_heading, "\n### ", parts: 2)

    section
    |> String.split("\n")
    |> Enum.filter(&String.starts_with?(&1, "| "))
    |> Enum.map(&cells/1)
    |> Enum.reject(fn [option | _] -> option == "option" end)
    |> Enum.map(&row/1)
  end

  defp cells(line) do
    line |> String.trim() |> String.trim("|") |> String.split(" | ") |> Enum.map(&String.trim/1)
  end

  defp row([option, providers, what, shown_by] = cells) when length(cells) == 4 do
    %{
      key: String.replace(option, "`", ""),
      names: ticked(option),
      providers: providers(providers),
      status: status(what),
      fragment: fragment(what),
      file: String.trim(shown_by, "`")
    }
  end

  defp ticked(cell) do
    ~r/`([^`]+)`/ |> Regex.scan(cell, capture: :all_but_first) |> List.flatten()
  end

  defp providers("all"), do: @leaves
  defp providers("retry policy"), do: ["retry policy"]
  defp providers(cell), do: ticked(cell)

  defp status("honoured" <> _), do: :honoured
  defp status("sent" <> _), do: :sent
  defp status("checked" <> _), do: :checked
  defp status("refused" <> _), do: :refused

  # The quoted words after `:config`, with \" unescaped.
  defp fragment(what) do
    case Regex.run(~r/`:config` "((?:[^"\\]|\\.)*)"/, what, capture: :all_but_first) do
      [words] -> String.replace(words, ~s(\\"), ~s("))
      nil -> nil
    end
  end
end

defmodule Switchboard.BamlOptionTableTest do
  @moduledoc """
  Walks the README's "BAML client options" table: for every row and
  provider it names, a client carrying the option is built against the
  mock. A refused row (and a checked row's refused value) must fail the
  build with a `:config` error holding the row's quoted words; an honoured
  or sent row must build, and where its effect can be seen on the wire a
  call shows it in the request the mock recorded (the header, the query,
  the body field, the role, the non-streamed request, the finish-reason
  error, the retry). Every row's test file must exist and name the option.
  A row without a sample here fails, so the table cannot grow untested.
  """
  use Switchboard.Case, async: true

  alias Switchboard.BamlOptionTable, as: Table

  @external_resource Table.readme()
  @rows Table.rows()

  # Each provider's own client_response_type.
  @own_format %{
    "openai" => "openai",
    "openai-generic" => "openai",
    "azure-openai" => "openai",
    "ollama" => "openai",
    "openrouter" => "openai",
    "openai-responses" => "openai-responses",
    "anthropic" => "anthropic",
    "google-ai" => "google",
    "vertex-ai" => "vertex"
  }

  @user_credentials %{
    "type" => "authorized_user",
    "client_id" => "123.apps.googleusercontent.com",
    "client_secret" => "table-client-secret",
    "refresh_token" => "1//table-refresh-token"
  }

  @user_credentials_json ~s({"type": "authorized_user", "client_id": "123.apps.googleusercontent.com", ) <>
                           ~s("client_secret": "table-client-secret", "refresh_token": "1//table-refresh-token"})

  # --- Clients of each provider, pointed at scenario `sc` ---------------

  defp leaf("openai", sc), do: openai("C", sc)
  defp leaf("anthropic", sc), do: anthropic("C", sc)
  defp leaf("google-ai", sc), do: dialect_client("C", "google-ai", sc)
  defp leaf("aws-bedrock", sc), do: dialect_client("C", "aws-bedrock", sc)
  defp leaf("vertex-ai", sc), do: dialect_client("C", "vertex-gemini", sc)
  defp leaf("openai-responses", sc), do: dialect_client("C", "openai-responses", sc)

  defp leaf(provider, sc) when provider in ~w(openai-generic ollama openrouter azure-openai) do
    %{
      name: "C",
      provider: provider,
      options: %{
        model: "table-model",
        api_key: "sk-test",
        base_url: Mock.base_url(mock(), sc, provider)
      }
    }
  end

  defp put(client, options), do: update_in(client.options, &deep_merge(&1, options))
  defp drop(client, keys), do: update_in(client.options, &Map.drop(&1, keys))

  defp deep_merge(a, b) do
    Map.merge(a, b, fn
      _k, x, y when is_map(x) and is_map(y) -> deep_merge(x, y)
      _k, _x, y -> y
    end)
  end

  # --- Samples: how each row's option is written, and what it shows -----
  #
  # sample(key, provider) returns a keyword list:
  #   ok:    fn client, sc -> client end (or a map merged into the options),
  #          the option as it is accepted;
  #   bad:   the same, as it is refused (refused and checked rows);
  #   check: fn client, sc -> any end, asserting the accepted option's effect;
  #   config: :strategy or :retry for rows about those, instead of a leaf.

  defp sample("api_key", "aws-bedrock"),
    do: [
      ok: fn c, _ ->
        c |> drop([:access_key_id, :secret_access_key]) |> put(%{api_key: "sk-table-key"})
      end,
      check: &sends_value(&1, &2, "sk-table-key")
    ]

  defp sample("api_key", "vertex-ai"), do: [bad: %{api_key: "sk-table-key"}]

  defp sample("api_key", _),
    do: [ok: %{api_key: "sk-table-key"}, check: &sends_value(&1, &2, "sk-table-key")]

  defp sample("base_url", "aws-bedrock"),
    do: [
      ok: fn c, sc ->
        c |> drop([:endpoint_url]) |> put(%{base_url: Mock.base_url(mock(), sc, "aws-bedrock")})
      end,
      check: &reaches_mock/2
    ]

  defp sample("base_url", _), do: [ok: %{}, check: &reaches_mock/2]

  defp sample("headers", _),
    do: [
      ok: %{headers: %{"x-table" => "row-1"}},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert header(req, "x-table") == "row-1"
      end
    ]

  defp sample("query_params", _),
    do: [
      ok: %{query_params: %{"table" => "row-1"}},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert req["query"] =~ "table=row-1"
      end
    ]

  defp sample("model", provider) do
    model = model_for(provider)

    [
      ok: %{model: model},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert req["json"]["model"] == model or req["path"] =~ model
      end
    ]
  end

  defp sample("http." <> key, _) when key in ~w(connect_timeout_ms request_timeout_ms),
    do: [ok: %{http: %{key => 45_678}}, check: &answers/2]

  defp sample("http." <> key, _)
       when key in ~w(time_to_first_token_timeout_ms idle_timeout_ms),
       do: [ok: %{http: %{key => 45_678}}, check: &streams/2]

  defp sample("http.http2_prior_knowledge", _),
    do: [ok: %{http: %{http2_prior_knowledge: true}}, check: &answers/2]

  defp sample("http.enable_connection_pooling", _),
    do: [
      ok: %{http: %{enable_connection_pooling: true}},
      bad: %{http: %{enable_connection_pooling: false}},
      check: &answers/2
    ]

  defp sample("http.total_timeout_ms", p) when p in ~w(fallback round-robin),
    do: [config: :strategy, ok: %{http: %{total_timeout_ms: 45_678}}, check: &answers/2]

  defp sample("http.total_timeout_ms", _), do: [bad: %{http: %{total_timeout_ms: 45_678}}]
  defp sample("http with another key", _), do: [bad: %{http: %{timeout_ms: 1}}]

  defp sample("allowed_roles", _),
    do: [
      ok: %{allowed_roles: ["user", "assistant"]},
      check: fn reg, sc ->
        prompt = [%{role: "system", content: "Be brief."}, %{role: "user", content: "Hi"}]
        assert {:ok, _} = Switchboard.call(reg, prompt)
        assert [req] = requests(sc)
        # The system message went out as a user turn: no system part left.
        refute has_system?(req["json"])
        assert contains?(req["json"], "Be brief.")
      end
    ]

  defp sample("default_role", _),
    do: [
      ok: %{allowed_roles: ["user", "assistant"], default_role: "assistant"},
      check: fn reg, sc ->
        prompt = [%{role: "user", content: "Hi"}, %{role: "system", content: "Be brief."}]
        assert {:ok, _} = Switchboard.call(reg, prompt)
        assert [req] = requests(sc)
        refute has_system?(req["json"])
        # Sent as the default role, not as the first allowed one (`user`).
        assert role_carrying(req["json"], "Be brief.") in ["assistant", "model"]
      end
    ]

  defp sample("remap_roles", _),
    do: [
      ok: %{remap_roles: %{"user" => "human"}},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert contains?(req["json"], "human")
      end
    ]

  defp sample("allowed_role_metadata", _), do: [ok: %{allowed_role_metadata: ["cache_control"]}]

  defp sample("media_url_handler", _),
    do: [
      ok: %{media_url_handler: %{image: "send_base64"}},
      check: fn reg, sc ->
        # An image URL no provider default fetches on every dialect: sent
        # inline ("PNG" is "UE5H" in base64) because the option says so.
        url = Mock.base_url(mock(), sc) <> "/media/pic?type=image/png&body=PNG"
        prompt = [%{role: "user", content: [%{type: "image", url: url}]}]
        assert {:ok, _} = Switchboard.call(reg, prompt)
        {fetches, [req]} = Enum.split_with(requests(sc), &(&1["path"] =~ "/media/"))
        assert [_] = fetches
        assert inspect(req["json"]) =~ "UE5H"
        refute inspect(req["json"]) =~ "/media/pic"
      end
    ]

  defp sample("supports_streaming", _),
    do: [
      ok: %{supports_streaming: false},
      check: fn reg, sc ->
        assert [_ | _] = Enum.to_list(Switchboard.stream(reg, "hi"))
        assert [req] = requests(sc)
        refute req["json"]["stream"] == true
        refute req["path"] =~ ~r/stream/i
      end
    ]

  defp sample("finish_reason_allow_list", _),
    do: [
      ok: %{finish_reason_allow_list: ["no-such-reason"]},
      check: fn reg, _sc ->
        assert {:error, %Error{kind: :finish_reason}} = Switchboard.call(reg, "hi")
      end
    ]

  defp sample("finish_reason_deny_list", _),
    do: [
      ok: %{finish_reason_deny_list: ~w(stop end_turn completed)},
      check: fn reg, _sc ->
        assert {:error, %Error{kind: :finish_reason}} = Switchboard.call(reg, "hi")
      end
    ]

  defp sample("finish_reason_allow_list with finish_reason_deny_list", _),
    do: [bad: %{finish_reason_allow_list: ["stop"], finish_reason_deny_list: ["length"]}]

  defp sample("client_response_type", "aws-bedrock"), do: [bad: %{client_response_type: "openai"}]

  defp sample("client_response_type", provider) do
    other = if provider == "anthropic", do: "openai", else: "anthropic"

    [
      ok: %{client_response_type: @own_format[provider]},
      bad: %{client_response_type: other},
      check: &answers/2
    ]
  end

  defp sample("stream", _), do: [bad: %{stream: true}]

  defp sample("pricing", _),
    do: [
      ok: %{pricing: %{input_per_million: 1.0, output_per_million: 2.0}},
      check: fn reg, sc ->
        assert {:ok, %Response{usage: usage}} = Switchboard.call(reg, "hi")
        assert is_float(usage.cost)
        refute contains?(hd(requests(sc))["json"], "input_per_million")
      end
    ]

  defp sample("circuit_breaker", _), do: [ok: %{circuit_breaker: %{failure_threshold: 3}}]
  defp sample("max_in_flight", _), do: [ok: %{max_in_flight: 4}, check: &answers/2]
  defp sample("requests_per_minute", _), do: [ok: %{requests_per_minute: 600}, check: &answers/2]
  defp sample("tokens_per_minute", _), do: [ok: %{tokens_per_minute: 100_000}, check: &answers/2]

  defp sample("temperature, top_p, max_tokens, stop", _),
    do: [
      ok: %{temperature: 0.25, max_tokens: 77},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert contains?(req["json"], 0.25)
        assert contains?(req["json"], 77)
      end
    ]

  defp sample("any other option", _),
    do: [
      ok: %{x_table_extra: "row-extra-value"},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert req["json"]["x_table_extra"] == "row-extra-value"
      end
    ]

  defp sample("resource_name, deployment_id", "azure-openai"),
    do: [
      ok: fn c, _ ->
        c |> drop([:base_url]) |> put(%{resource_name: "r1", deployment_id: "d1"})
      end
    ]

  defp sample("resource_name or deployment_id with base_url", "azure-openai"),
    do: [bad: %{deployment_id: "d1"}]

  defp sample("api_version", "azure-openai"),
    do: [
      ok: %{api_version: "2024-10-21"},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [%{"query" => "api-version=2024-10-21"}] = requests(sc)
      end
    ]

  defp sample("endpoint", "azure-openai"),
    do: [
      ok: fn c, sc ->
        c |> drop([:base_url]) |> put(%{endpoint: Mock.base_url(mock(), sc), deployment_id: "d1"})
      end,
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [%{"path" => "/openai/deployments/d1/chat/completions"}] = requests(sc)
      end
    ]

  defp sample("location", "vertex-ai"),
    do: [ok: %{location: "europe-west4"}, check: &path_has(&1, &2, "locations/europe-west4")]

  defp sample("project_id", "vertex-ai"),
    do: [ok: %{project_id: "table-proj"}, check: &path_has(&1, &2, "projects/table-proj")]

  defp sample("credentials", "vertex-ai"),
    do: [ok: fn c, _ -> c |> drop([:query_params]) |> put(%{credentials: @user_credentials}) end]

  defp sample("credentials_content", "vertex-ai"),
    do: [
      ok: fn c, _ ->
        c |> drop([:query_params]) |> put(%{credentials_content: @user_credentials_json})
      end
    ]

  defp sample("credentials or credentials_content with query_params key", "vertex-ai"),
    do: [bad: %{credentials: @user_credentials}]

  defp sample("anthropic_version", "vertex-ai"),
    do: [
      ok: fn _, sc ->
        "C"
        |> dialect_client("vertex-claude", sc)
        |> put(%{anthropic_version: "vertex-2099-01-01"})
      end,
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert req["json"]["anthropic_version"] == "vertex-2099-01-01"
      end
    ]

  defp sample("region", "aws-bedrock"),
    do: [ok: %{region: "eu-west-3"}, check: &header_has(&1, &2, "authorization", "/eu-west-3/")]

  defp sample("access_key_id, secret_access_key, session_token", "aws-bedrock"),
    do: [
      ok: %{session_token: "table-session-token"},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert header(req, "authorization") =~ "Credential=AKIDEXAMPLE/"
        assert header(req, "x-amz-security-token") == "table-session-token"
      end
    ]

  defp sample("credentials", "aws-bedrock"),
    do: [
      ok: fn c, _ ->
        c
        |> drop([:access_key_id, :secret_access_key])
        |> put(%{credentials: %{access_key_id: "AKIDTABLE", secret_access_key: "table-secret"}})
      end,
      check: &header_has(&1, &2, "authorization", "Credential=AKIDTABLE/")
    ]

  defp sample("profile", "aws-bedrock"),
    do: [
      ok: fn c, _ -> drop(c, [:access_key_id, :secret_access_key]) |> put(%{profile: "table"}) end
    ]

  defp sample("endpoint_url", "aws-bedrock"), do: [ok: %{}, check: &reaches_mock/2]

  defp sample("model_id", "aws-bedrock"),
    do: [
      ok: fn c, _ -> c |> drop([:model]) |> put(%{model_id: "table.model-v1"}) end,
      check: &path_has(&1, &2, "/model/table.model-v1/")
    ]

  defp sample("inference_configuration", "aws-bedrock"),
    do: [
      ok: %{inference_configuration: %{max_tokens: 55, top_p: 0.5}},
      bad: %{inference_configuration: %{top_k: 3}},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert req["json"]["inferenceConfig"] == %{"maxTokens" => 55, "topP" => 0.5}
      end
    ]

  defp sample("additional_model_request_fields", "aws-bedrock"),
    do: [
      ok: %{additional_model_request_fields: %{top_k: 7}},
      check: fn reg, sc ->
        assert {:ok, _} = Switchboard.call(reg, "hi")
        assert [req] = requests(sc)
        assert req["json"]["additionalModelRequestFields"] == %{"top_k" => 7}
      end
    ]

  defp sample("strategy", _), do: [config: :strategy, ok: %{}, check: &answers/2]

  defp sample("start", "round-robin"),
    do: [
      config: :strategy,
      ok: %{start: 1},
      check: fn reg, _ ->
        assert {:ok, %Response{client: "L2"}} = Switchboard.call(reg, "hi")
      end
    ]

  defp sample("start", "fallback"), do: [config: :strategy, bad: %{start: 1}]

  defp sample("a leaf client's option", _),
    do: [config: :strategy, bad: %{allowed_roles: ["user"]}]

  defp sample("max_retries", _),
    do: [
      config: :retry,
      ok: %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 0}},
      check: fn reg, sc ->
        assert {:ok, %Response{}} = Switchboard.call(reg, "hi")
        assert length(requests(sc)) == 2
      end
    ]

  defp sample("strategy.type", _),
    do: [config: :retry, ok: %{max_retries: 1, strategy: %{type: "exponential_backoff"}}]

  defp sample("strategy.delay_ms", _),
    do: [config: :retry, ok: %{max_retries: 1, strategy: %{delay_ms: 0}}, check: &retries/2]

  defp sample("strategy.multiplier", _),
    do: [
      config: :retry,
      ok: %{max_retries: 1, strategy: %{type: "exponential_backoff", delay_ms: 0, multiplier: 2}},
      check: &retries/2
    ]

  defp sample("strategy.max_delay_ms", _),
    do: [
      config: :retry,
      ok: %{
        max_retries: 1,
        strategy: %{type: "exponential_backoff", delay_ms: 5, max_delay_ms: 0}
      },
      check: &retries/2
    ]

  defp sample("strategy.jitter", _),
    do: [
      config: :retry,
      ok: %{max_retries: 1, strategy: %{delay_ms: 0, jitter: "full"}},
      check: &retries/2
    ]

  defp sample("strategy.initial_delay, strategy.max_delay", _),
    do: [
      config: :retry,
      ok: %{
        max_retries: 1,
        strategy: %{type: "exponential_backoff", initial_delay: 0, max_delay: 0}
      },
      check: &retries/2
    ]

  defp sample("strategy.multiplier on constant_delay", _),
    do: [
      config: :retry,
      bad: %{max_retries: 1, strategy: %{type: "constant_delay", multiplier: 2}}
    ]

  defp sample(_key, _provider), do: nil

  # --- Checks ------------------------------------------------------------

  defp answers(reg, _sc), do: assert({:ok, %Response{}} = Switchboard.call(reg, "hi"))

  defp streams(reg, sc) do
    assert [_ | _] = Enum.to_list(Switchboard.stream(reg, "hi"))
    assert [_] = requests(sc)
  end

  defp reaches_mock(reg, sc) do
    assert {:ok, %Response{}} = Switchboard.call(reg, "hi")
    assert [_] = requests(sc)
  end

  # A retry policy's retry: the scenario's first answer is a 500.
  defp retries(reg, sc) do
    assert {:ok, %Response{}} = Switchboard.call(reg, "hi")
    assert length(requests(sc)) == 2
  end

  defp sends_value(reg, sc, value) do
    assert {:ok, _} = Switchboard.call(reg, "hi")
    assert [req] = requests(sc)
    assert Enum.any?(headers(req), fn {_, v} -> String.contains?(v, value) end)
  end

  defp path_has(reg, sc, part) do
    assert {:ok, _} = Switchboard.call(reg, "hi")
    assert [req] = requests(sc)
    assert req["path"] =~ part
  end

  defp header_has(reg, sc, name, part) do
    assert {:ok, _} = Switchboard.call(reg, "hi")
    assert [req] = requests(sc)
    assert header(req, name) =~ part
  end

  defp headers(%{"headers" => h}) when is_map(h), do: Map.to_list(h)
  defp headers(%{"headers" => h}) when is_list(h), do: h

  defp model_for("google-ai"), do: "gemini-table-model"
  defp model_for("vertex-ai"), do: "gemini-table-model"
  defp model_for("aws-bedrock"), do: "table.model-v1"
  defp model_for("anthropic"), do: "claude-table-model"
  defp model_for(_), do: "gpt-table-model"

  # Whether a request body still has a system prompt, in any dialect.
  defp has_system?(json) do
    Enum.any?(
      ["system", "systemInstruction", "system_instruction", "instructions"],
      &(json[&1] not in [nil, []])
    ) or
      contains?(json, {"role", "system"})
  end

  # The role of the innermost message (a map with a "role") holding `text`.
  defp role_carrying(term, text) when is_map(term) do
    Enum.find_value(Map.values(term), &role_carrying(&1, text)) ||
      (Map.has_key?(term, "role") and contains?(term, text) and term["role"]) || nil
  end

  defp role_carrying(term, text) when is_list(term),
    do: Enum.find_value(term, &role_carrying(&1, text))

  defp role_carrying(_term, _text), do: nil

  defp contains?(term, {k, v}) when is_map(term),
    do: Map.get(term, k) == v or Enum.any?(Map.values(term), &contains?(&1, {k, v}))

  defp contains?(term, needle) when is_map(term),
    do: Enum.any?(Map.values(term), &contains?(&1, needle))

  defp contains?(term, needle) when is_list(term), do: Enum.any?(term, &contains?(&1, needle))
  defp contains?(_term, {_, _}), do: false
  defp contains?(term, needle), do: term == needle

  # --- Building a config for a row ---------------------------------------

  defp patched(client, patch, _sc) when is_map(patch), do: put(client, patch)
  defp patched(client, patch, sc) when is_function(patch, 2), do: patch.(client, sc)

  # The registry config carrying the row's option, as `which` (:ok / :bad)
  # writes it, for `provider`.
  defp config_for(sample, which, provider, sc) do
    patch = Keyword.fetch!(sample, which)

    case sample[:config] do
      nil ->
        %{clients: [patched(leaf(provider, sc), patch, sc)]}

      :strategy ->
        strategy = %{name: "S", provider: provider, options: %{strategy: ["L", "L2"]}}

        %{
          primary: "S",
          clients: [openai("L", sc), openai("L2", sc), patched(strategy, patch, sc)]
        }

      :retry ->
        :ok = Mock.script(mock(), sc, [%{status: 500}, %{content: "ok"}])
        %{clients: [openai("C", sc, %{}, "P")], retry_policies: %{"P" => patch}}
    end
  end

  # --- The tests -----------------------------------------------------------

  test "the table was read: every row has a provider, a status and a test file" do
    assert length(@rows) > 50

    for row <- @rows do
      assert row.providers != [], "row #{row.key}"
      assert row.status in [:honoured, :sent, :checked, :refused]
      assert String.starts_with?(row.file, "test/"), "row #{row.key}: #{row.file}"

      if row.status in [:refused, :checked],
        do: assert(is_binary(row.fragment), "row #{row.key} quotes its :config error")
    end
  end

  for row <- @rows, provider <- row.providers do
    @row row
    @provider provider
    test "#{row.key} on #{provider} (#{row.status})" do
      row = @row
      sample = sample(row.key, @provider)
      assert sample, "no sample for row #{inspect(row.key)} on #{@provider}: add one to this test"

      if row.status in [:refused, :checked] do
        sc = scenario("opt")

        assert {:error, %Error{kind: :config, message: message}} =
                 Registry.new(config_for(sample, :bad, @provider, sc)),
               "row #{row.key} on #{@provider} must be refused"

        assert message =~ row.fragment
      end

      if row.status in [:honoured, :sent, :checked] do
        sc = scenario("opt")
        config = config_for(sample, :ok, @provider, sc)

        reg =
          case Registry.new(config) do
            {:ok, reg} ->
              reg

            {:error, e} ->
              flunk("row #{row.key} on #{@provider} must build: #{Exception.message(e)}")
          end

        if check = sample[:check], do: check.(reg, sc)
      end
    end
  end

  test "each row's test file exists and names the row's options" do
    for row <- @rows do
      assert File.exists?(row.file), "row #{row.key}: #{row.file} does not exist"
      text = File.read!(row.file)

      for name <- row.names do
        word = name |> String.split(".") |> List.last()
        assert text =~ word, "#{row.file} does not mention #{word} (row #{row.key})"
      end
    end
  end
end
