defmodule Switchboard.Chaos do
  @moduledoc """
  The fault-injection suite's world (`test/chaos_test.exs`): one leaf client
  per provider with credentials of its own, and the catalogue of faults the
  mock plays, each with the outcome a call that meets it must have.

  A fault is `{name, step, expected}`: `step` is a function of the call's
  context (`%{content:, secrets:}`) returning the mock step, `expected` is
  `:ok` (the scripted text, whole) or the `Switchboard.Error` kind.
  """

  import Switchboard.Case, only: [mock: 0]

  @providers ~w(openai azure-openai openrouter openai-responses anthropic google-ai
                vertex-ai vertex-claude aws-bedrock aws-bedrock-key)

  @doc "Every provider the suite drives (`vertex-claude`: Claude on Vertex AI)."
  def providers, do: @providers

  @doc """
  Timeouts every leaf gets: a stall or an endless stream must end by one of
  them, and a healthy answer under a loaded CI machine must never meet them.
  """
  def http, do: %{request_timeout_ms: 4_000, idle_timeout_ms: 1_500}

  @doc """
  Credentials for one leaf, unique to it, with characters that every
  encoding changes (`/`, `+`, `=`), so an echo in any form is told apart.
  """
  def secrets(tag, "aws-bedrock") do
    %{
      access_key_id: "AKIACHAOS#{tag}",
      secret_access_key: "chaos/Secret+Key=#{tag}/wJalrXUtnFEMI",
      session_token: "IQoJb3JpZ2luX2VjE/chaos+session=#{tag}"
    }
  end

  def secrets(tag, "vertex-ai"), do: %{access_token: "ya29.chaos/vertex+token=#{tag}"}
  def secrets(tag, "vertex-claude"), do: %{access_token: "ya29.chaos/claude+token=#{tag}"}
  def secrets(tag, "aws-bedrock-key"), do: %{api_key: "ABSKchaos/bedrock+key=#{tag}"}
  def secrets(tag, provider), do: %{api_key: "sk-chaos/#{provider}+key=#{tag}"}

  @doc """
  Every secret value of a leaf, as a list of strings. An AWS access key id
  is not one: it names the key, travels in clear in every SigV4
  `Authorization` header and shows in AWS's own error messages.
  """
  def secret_values(secrets), do: secrets |> Map.delete(:access_key_id) |> Map.values()

  @doc """
  A leaf named `name` of `provider` answering from scenario `sc`. Vertex
  leaves take their token from `token_sc`, whose steps hand out the leaf's
  access token, signed for by the service account `sa`.
  """
  def leaf(provider, name, sc, secrets, sa, retry_policy \\ nil)

  def leaf(provider, name, sc, secrets, _sa, policy)
      when provider in ~w(openai openrouter openai-responses anthropic azure-openai google-ai) do
    model =
      case provider do
        "anthropic" -> "claude-haiku-4-5"
        "google-ai" -> "gemini-2.5-flash"
        _ -> "gpt-4o-mini"
      end

    options = %{
      model: model,
      api_key: secrets.api_key,
      base_url: Switchboard.Mock.base_url(mock(), sc, provider),
      http: http()
    }

    client(name, provider, options, policy)
  end

  def leaf(provider, name, sc, _secrets, sa, policy)
      when provider in ["vertex-ai", "vertex-claude"] do
    model = if provider == "vertex-ai", do: "gemini-2.5-flash", else: "claude-haiku-4-5@20251001"

    options = %{
      model: model,
      location: "us-central1",
      base_url: Switchboard.Mock.base_url(mock(), sc, "vertex-ai"),
      credentials: sa,
      http: http()
    }

    client(name, "vertex-ai", options, policy)
  end

  def leaf(provider, name, sc, secrets, _sa, policy)
      when provider in ["aws-bedrock", "aws-bedrock-key"] do
    options =
      Map.merge(secrets, %{
        model: "anthropic.claude-3-5-haiku-20241022-v1:0",
        region: "us-east-1",
        endpoint_url: Switchboard.Mock.base_url(mock(), sc, "aws-bedrock"),
        http: http()
      })

    client(name, "aws-bedrock", options, policy)
  end

  defp client(name, provider, options, nil),
    do: %{name: name, provider: provider, options: options}

  defp client(name, provider, options, policy),
    do: %{name: name, provider: provider, options: options, retry_policy: policy}

  @doc """
  A service account whose key the mock knows, its token endpoint at
  scenario `token_sc`.
  """
  def service_account(email, pem, token_sc) do
    %{
      "type" => "service_account",
      "project_id" => "chaos-proj",
      "private_key_id" => "chaos-key-id",
      "client_email" => email,
      "private_key" => pem,
      "token_uri" => Switchboard.Mock.base_url(mock(), token_sc) <> "/token"
    }
  end

  @doc """
  The forms in which servers and proxies echo a credential back: as sent,
  JSON-escaped (every non-alphanumeric as `\\u00XX`, and `/` as `\\/`),
  URL-encoded and base64 (padded and not).
  """
  def echoes(secret) do
    json_escaped =
      secret
      |> String.to_charlist()
      |> Enum.map_join(fn
        c when c in ?a..?z or c in ?A..?Z or c in ?0..?9 -> <<c>>
        c -> "\\u" <> String.pad_leading(Integer.to_string(c, 16), 4, "0")
      end)

    b64 = Base.encode64(secret)

    Enum.uniq([
      secret,
      json_escaped,
      String.replace(secret, "/", "\\/"),
      URI.encode_www_form(secret),
      b64,
      String.trim_trailing(b64, "="),
      Base.url_encode64(secret, padding: false)
    ])
  end

  # --- the faults --------------------------------------------------------------

  @retry_after_date "Wed, 21 Oct 2015 07:28:00 GMT"

  @doc """
  The faults a call in `mode` (`:plain` or `:stream`) to `provider` may
  meet, with their weights: `{weight, name, step_fun, expected}`.
  """
  def faults(mode, provider) do
    common = [
      {60, :ok, &ok_step(&1, mode), :ok},
      {4, :status_500, fn _ -> %{status: 500} end, :server},
      {3, :status_503, fn _ -> %{status: 503} end, :overloaded},
      # Only Anthropic's and OpenAI's dialects know 529; Bedrock answers it
      # as InternalServerException, Google as INTERNAL, both `:server`.
      {3, :status_529, fn _ -> %{status: 529} end,
       if(provider in ~w(aws-bedrock aws-bedrock-key google-ai vertex-ai),
         do: :server,
         else: :overloaded
       )},
      {4, :rate_limited, fn _ -> %{status: 429, headers: %{"retry-after" => "0"}} end,
       :rate_limited},
      {2, :rate_limited_date,
       fn _ -> %{status: 429, headers: %{"retry-after" => @retry_after_date}} end, :rate_limited},
      {3, :reset, fn _ -> %{drop: true} end, :network},
      {3, :malformed, fn ctx -> Map.put(ok_step(ctx, mode), :malformed, true) end, :bad_response},
      {2, :echo_auth, &echo(&1, 401), :auth},
      {2, :echo_bad_request, &echo(&1, 400), :invalid_request},
      {1, :echo_server, &echo(&1, 500), :server}
    ]

    common ++ by_mode(mode, provider)
  end

  defp by_mode(:plain, _provider) do
    [
      {3, :truncated, fn ctx -> Map.put(ok_step(ctx, :plain), :truncate_at, 25) end, :network},
      {2, :corrupt, fn ctx -> Map.put(ok_step(ctx, :plain), :corrupt_at, 0) end, :bad_response},
      {1, :stall, fn _ -> %{delay_ms: 60_000} end, :timeout},
      {1, :endless, fn _ -> %{endless: true} end, :bad_response}
    ]
  end

  defp by_mode(:stream, provider) do
    corrupt =
      if provider in ["aws-bedrock", "aws-bedrock-key"],
        # Any byte of any frame: each frame's CRCs must catch it.
        do: [
          {3, :corrupt_frame,
           fn ctx -> Map.put(ok_step(ctx, :stream), :corrupt_at, 40 + rem(ctx.n, 200)) end,
           :bad_response}
        ],
        else: []

    [
      {3, :truncated, fn ctx -> Map.put(ok_step(ctx, :stream), :truncate_after, 2) end, :network},
      {1, :stall, fn ctx -> Map.put(ok_step(ctx, :stream), :stall_after, 2) end, :timeout},
      # Blanks are no event-stream frame: Bedrock fails their CRC at once.
      {1, :endless, fn _ -> %{endless: true} end,
       if(corrupt == [], do: :timeout, else: :bad_response)}
    ] ++ corrupt
  end

  defp ok_step(ctx, :plain), do: %{content: ctx.content}
  defp ok_step(ctx, :stream), do: %{content: ctx.content, chunks: 2 + rem(ctx.n, 5)}

  # An error answer that quotes every credential of the client in every
  # form, in the provider's error shape.
  defp echo(ctx, status) do
    quoted = ctx.secrets |> Enum.flat_map(&echoes/1) |> Enum.join(" | ")
    message = "Incorrect credentials provided: #{quoted}"
    %{status: status, body: error_body(ctx.provider, status, message)}
  end

  defp error_body(provider, _status, message)
       when provider in ["aws-bedrock", "aws-bedrock-key"],
       do: ~s({"message": #{json_string(message)}})

  defp error_body(provider, status, message) when provider in ["google-ai", "vertex-ai"],
    do: ~s({"error": {"code": #{status}, "message": #{json_string(message)}, "status": "FAILED"}})

  # Anthropic's dialects read the kind from the type: it must agree with
  # the status, as Anthropic's does.
  defp error_body(_provider, status, message) do
    type =
      case status do
        401 -> "authentication_error"
        400 -> "invalid_request_error"
        _ -> "api_error"
      end

    ~s({"error": {"message": #{json_string(message)}, "type": "#{type}"}})
  end

  # Every echoed form is valid inside a JSON string as it is (`\\uXXXX` and
  # `\\/` are JSON escapes), so the raw body holds each form and the decoded
  # message the secret itself.
  defp json_string(s), do: ~s(") <> s <> ~s(")

  @doc "Picks one weighted entry with the process's seeded `:rand`."
  def pick(weighted) do
    total = weighted |> Enum.map(&elem(&1, 0)) |> Enum.sum()
    pick(weighted, :rand.uniform(total))
  end

  defp pick([{w, _, _, _} = entry | rest], n), do: if(n <= w, do: entry, else: pick(rest, n - w))
end
