defmodule Bench.Clients do
  @moduledoc false
  # One leaf client per provider, pointed at a scenario of the bundled mock:
  # the clients bench/providers.exs and bench/soak.exs call. The mock checks
  # no signature here, so every provider costs the server only its wire
  # format.

  @providers ~w(openai openai-responses anthropic google-ai vertex-ai aws-bedrock aws-bedrock-key)

  def providers, do: @providers

  # `credentials`: `service_account(mock)`'s, for vertex-ai (else unused).
  # Not a reasoning model, so the mock's Responses answers carry no
  # reasoning item and both OpenAI APIs return the same text.
  def leaf(provider, name, mock, _credentials) when provider in ["openai", "openai-responses"] do
    leaf(name, provider, %{
      model: "gpt-4o-mini",
      api_key: "sk-bench",
      base_url: Switchboard.Mock.base_url(mock, name, provider)
    })
  end

  def leaf("anthropic", name, mock, _credentials) do
    leaf(name, "anthropic", %{
      model: "claude-haiku-4-5",
      api_key: "sk-ant-bench",
      base_url: Switchboard.Mock.base_url(mock, name, "anthropic")
    })
  end

  def leaf("google-ai", name, mock, _credentials) do
    leaf(name, "google-ai", %{
      api_key: "bench-key",
      base_url: Switchboard.Mock.base_url(mock, name, "google-ai")
    })
  end

  def leaf("vertex-ai", name, mock, credentials) do
    leaf(name, "vertex-ai", %{
      model: "gemini-2.5-flash",
      location: "us-central1",
      base_url: Switchboard.Mock.base_url(mock, name, "vertex-ai"),
      credentials: credentials
    })
  end

  def leaf("aws-bedrock", name, mock, _credentials) do
    bedrock(name, mock, %{
      access_key_id: "AKIDEXAMPLE",
      secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    })
  end

  def leaf("aws-bedrock-key", name, mock, _credentials),
    do: bedrock(name, mock, %{api_key: "bedrock-api-key-bench"})

  defp bedrock(name, mock, credentials) do
    leaf(
      name,
      "aws-bedrock",
      Map.merge(credentials, %{
        model: "anthropic.claude-3-5-haiku-20241022-v1:0",
        region: "us-east-1",
        endpoint_url: Switchboard.Mock.base_url(mock, name, "aws-bedrock")
      })
    )
  end

  defp leaf(name, provider, options), do: %{name: name, provider: provider, options: options}

  # A throwaway service account, known to the mock's token endpoint (one
  # key per email: every vertex-ai client shares it).
  def service_account(mock) do
    key = :public_key.generate_key({:rsa, 2048, 65_537})
    pem = :public_key.pem_encode([:public_key.pem_entry_encode(:PrivateKeyInfo, key)])
    email = "bench@bench-proj.iam.gserviceaccount.com"
    Switchboard.Mock.add_google_key(mock, %{"client_email" => email, "private_key" => pem})

    %{
      "type" => "service_account",
      "project_id" => "bench-proj",
      "client_email" => email,
      "private_key" => pem,
      "token_uri" => Switchboard.Mock.base_url(mock, "token") <> "/token"
    }
  end
end
