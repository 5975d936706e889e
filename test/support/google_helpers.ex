defmodule Switchboard.GoogleHelpers do
  @moduledoc """
  Builders for `google-ai` and `vertex-ai` clients pointed at the suite's
  mock server, and Gemini's usage in Switchboard's one meaning.
  """

  import Switchboard.Case, only: [mock: 0]
  import ExUnit.Callbacks, only: [on_exit: 1]

  @env_vars ~w(GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_CONFIG GCE_METADATA_HOST GOOGLE_CLOUD_PROJECT)

  @doc """
  Isolates the test's Google environment (call it from `setup`; for tests
  that are not async): the Google variables cleared and an empty gcloud
  config, so this machine's own credentials are never found; all restored
  when the test exits. Returns the gcloud config folder.

  ## Examples

      setup do
        %{gcloud_dir: Switchboard.GoogleHelpers.isolate_env!()}
      end
  """
  @spec isolate_env!() :: Path.t()
  def isolate_env! do
    saved = Map.new(@env_vars, &{&1, System.get_env(&1)})
    Enum.each(@env_vars, &System.delete_env/1)
    dir = Path.join(System.tmp_dir!(), "switchboard-gcloud-#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    System.put_env("CLOUDSDK_CONFIG", dir)

    on_exit(fn ->
      File.rm_rf!(dir)

      Enum.each(saved, fn
        {var, nil} -> System.delete_env(var)
        {var, value} -> System.put_env(var, value)
      end)
    end)

    dir
  end

  @doc "A google-ai client whose base_url is the mock's scenario."
  def google_ai(name, sc, options \\ %{}, retry_policy \\ nil) do
    options =
      Map.merge(
        %{
          model: "gemini-2.5-flash",
          api_key: "AIza-test-key",
          base_url: Switchboard.Mock.base_url(mock(), sc, "google-ai")
        },
        options
      )

    client(name, "google-ai", options, retry_policy)
  end

  @doc """
  A vertex-ai client whose base_url is the mock's scenario (`/v1`),
  location `us-central1` and project `test-proj` unless `options` say.
  """
  def vertex(name, sc, options \\ %{}, retry_policy \\ nil) do
    options =
      Map.merge(
        %{
          model: "gemini-2.5-flash",
          location: "us-central1",
          project_id: "test-proj",
          base_url: Switchboard.Mock.base_url(mock(), sc, "vertex-ai")
        },
        options
      )

    client(name, "vertex-ai", options, retry_policy)
  end

  @doc "The mock's URL for a scenario."
  def base(sc), do: Switchboard.Mock.base_url(mock(), sc)

  defp client(name, provider, options, nil),
    do: %{name: name, provider: provider, options: options}

  defp client(name, provider, options, policy),
    do: %{name: name, provider: provider, options: options, retry_policy: policy}

  @doc """
  A recorded `usageMetadata` as `Switchboard.Usage`: input is the prompt
  count, output the candidates' plus the thoughts' count, total their sum
  (Google's own total when neither is known), cached the cached content,
  reasoning the thoughts' count.
  """
  def gemini_usage(nil), do: %Switchboard.Usage{}

  def gemini_usage(u) do
    input = u["promptTokenCount"]

    output =
      if u["candidatesTokenCount"] || u["thoughtsTokenCount"],
        do: (u["candidatesTokenCount"] || 0) + (u["thoughtsTokenCount"] || 0)

    total = if input || output, do: (input || 0) + (output || 0), else: u["totalTokenCount"]

    %Switchboard.Usage{
      input_tokens: input,
      output_tokens: output,
      total_tokens: total,
      cached_input_tokens: u["cachedContentTokenCount"],
      reasoning_tokens: u["thoughtsTokenCount"]
    }
  end

  @doc "The first candidate's text, without thought parts."
  def gemini_text(response) do
    case response["candidates"] do
      [candidate | _] ->
        for %{"text" => t} = part <- get_in(candidate, ["content", "parts"]) || [],
            part["thought"] != true,
            into: "",
            do: t

      _ ->
        ""
    end
  end

  @doc "The first candidate's finishReason, if any."
  def gemini_finish_reason(response) do
    case response["candidates"] do
      [candidate | _] -> candidate["finishReason"]
      _ -> nil
    end
  end
end
