# The Switchboard demo: a named registry, built from a Beamlens-style
# client_registry map, runs under a supervisor beside a GenServer that asks
# it questions by name without blocking; then an answer is streamed.
#
#   make demo                       # bundled mock server, no key needed
#   ANTHROPIC_API_KEY=... make demo # Anthropic's claude-haiku-4-5 for real
#   GOOGLE_API_KEY=... make demo    # no Anthropic key: Google's gemini-2.5-flash for real
#   make demo with AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws,
#   AWS_BEARER_TOKEN_BEDROCK, ...) and neither key above: Claude Haiku 4.5
#   on AWS Bedrock (BEDROCK_MODEL and BEDROCK_REGION / AWS_REGION override)

defmodule Demo.Assistant do
  @moduledoc "Answers questions through the Demo.LLM registry without blocking."
  use GenServer

  def start_link(_), do: GenServer.start_link(__MODULE__, %{}, name: __MODULE__)

  def ask(question), do: GenServer.call(__MODULE__, {:ask, question}, 120_000)

  @impl true
  def init(waiting), do: {:ok, waiting}

  @impl true
  def handle_call({:ask, question}, from, waiting) do
    # The answer arrives later as {ref, result}; the GenServer stays free.
    call = Switchboard.async(Demo.LLM, question, options: %{max_tokens: 300})
    {:noreply, Map.put(waiting, call.ref, from)}
  end

  @impl true
  def handle_info({ref, result}, waiting) when is_map_key(waiting, ref) do
    {from, waiting} = Map.pop(waiting, ref)
    GenServer.reply(from, result)
    {:noreply, waiting}
  end
end

defmodule Demo do
  def run do
    {config, where} = config()
    IO.puts("Switchboard demo: #{where}\n")

    # An application would list these children in its own supervision tree.
    {:ok, _} =
      Supervisor.start_link(
        [{Switchboard.Registry, name: Demo.LLM, client_registry: config}, Demo.Assistant],
        strategy: :one_for_one
      )

    for question <- [
          "In one sentence, why does the BEAM suit LLM-heavy applications?",
          "And in one more sentence, what does a fallback client buy me?"
        ] do
      IO.puts("Q: #{question}")
      show(Demo.Assistant.ask(question))
    end

    stream("In two short sentences, what does streaming give a chat UI?")
  end

  # Chunks as they arrive, by the registry's name; the last one carries the response.
  defp stream(question) do
    IO.puts("Q: #{question} (streamed)")
    IO.write("A: ")

    last =
      Demo.LLM
      |> Switchboard.stream(question, options: %{max_tokens: 200})
      |> Enum.reduce(nil, fn chunk, _ ->
        IO.write(chunk.text)
        chunk
      end)

    %Switchboard.Chunk{response: r} = last
    IO.puts("\n   streamed by #{r.client} (#{r.provider}) in #{r.latency_ms} ms\n")
  end

  defp config do
    if System.get_env("ANTHROPIC_API_KEY") in [nil, ""] and
         System.get_env("GOOGLE_API_KEY") not in [nil, ""],
       do: gemini_config(),
       else: anthropic_or_mock_config()
  end

  defp gemini_config do
    clients = [
      %{
        name: "Primary",
        provider: "google-ai",
        # The call's max_tokens becomes generationConfig.maxOutputTokens;
        # without thinking, all of it goes to the answer.
        options: %{
          model: "gemini-2.5-flash",
          generationConfig: %{thinkingConfig: %{thinkingBudget: 0}}
        },
        retry_policy: "DefaultRetry"
      },
      %{name: "Backup", provider: "openai", options: %{model: "gpt-4o-mini"}},
      %{
        name: "PrimaryWithFallback",
        provider: "fallback",
        options: %{strategy: ["Primary", "Backup"]}
      }
    ]

    {%{primary: "PrimaryWithFallback", clients: clients},
     "no ANTHROPIC_API_KEY but GOOGLE_API_KEY: calling Gemini (google-ai) for real"}
  end

  defp anthropic_or_mock_config do
    clients = [
      %{
        name: "Primary",
        provider: "anthropic",
        options: %{model: "claude-haiku-4-5-20251001"},
        retry_policy: "DefaultRetry"
      },
      %{name: "Backup", provider: "openai", options: %{model: "gpt-4o-mini"}},
      %{
        name: "PrimaryWithFallback",
        provider: "fallback",
        options: %{strategy: ["Primary", "Backup"]}
      }
    ]

    cond do
      present?("ANTHROPIC_API_KEY") ->
        {%{primary: "PrimaryWithFallback", clients: clients}, "calling Anthropic for real"}

      aws_credentials?() ->
        bedrock_config(clients)

      true ->
        mock_config(clients)
    end
  end

  defp present?(var), do: System.get_env(var) not in [nil, ""]

  # What the AWS credential chain would find, short of asking instance
  # metadata (which only answers on EC2).
  defp aws_credentials? do
    home = System.user_home() || ""

    Enum.any?(
      ~w(AWS_BEARER_TOKEN_BEDROCK AWS_ACCESS_KEY_ID AWS_PROFILE AWS_WEB_IDENTITY_TOKEN_FILE
         AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI),
      &present?/1
    ) or File.exists?(Path.join(home, ".aws/credentials")) or
      File.exists?(Path.join(home, ".aws/config"))
  end

  defp bedrock_config(clients) do
    model = System.get_env("BEDROCK_MODEL", "us.anthropic.claude-haiku-4-5-20251001-v1:0")

    region =
      Enum.find_value(~w(BEDROCK_REGION AWS_REGION AWS_DEFAULT_REGION), "us-east-1", fn var ->
        present?(var) && System.get_env(var)
      end)

    bedrock = %{
      name: "Primary",
      provider: "aws-bedrock",
      options: %{model: model, region: region},
      retry_policy: "DefaultRetry"
    }

    clients = [bedrock | Enum.reject(clients, &(&1.name == "Primary"))]

    {%{primary: "PrimaryWithFallback", clients: clients},
     "no ANTHROPIC_API_KEY but AWS credentials, so calling #{model} on AWS Bedrock (#{region})"}
  end

  defp mock_config(clients) do
    mock = Switchboard.Mock.start!()

    # The primary is overloaded for its first four attempts (DefaultRetry
    # makes four), so the first question falls back; the second does not;
    # the third answer is streamed in small deltas.
    Switchboard.Mock.script(
      mock,
      "primary",
      List.duplicate(%{status: 529}, 4) ++
        [
          %{content: "Another client takes over when one fails, so users keep getting answers."},
          %{
            content:
              "Readers see the answer grow word by word instead of waiting for all of it. " <>
                "A slow model feels fast.",
            chunks: 20,
            chunk_delay_ms: 40
          }
        ]
    )

    Switchboard.Mock.script(mock, "backup", [
      %{
        content:
          "Millions of cheap processes can each wait on a slow model without blocking anyone."
      }
    ])

    # Each provider's client appends its own path; base_url/3 gives the rest.
    scenarios = %{"Primary" => "primary", "Backup" => "backup"}

    clients =
      Enum.map(clients, fn c ->
        case scenarios[c.name] do
          nil ->
            c

          sc ->
            url = Switchboard.Mock.base_url(mock, sc, c.provider)
            %{c | options: Map.merge(c.options, %{base_url: url, api_key: "demo-key"})}
        end
      end)

    {%{primary: "PrimaryWithFallback", clients: clients},
     "no ANTHROPIC_API_KEY, so using the bundled mock server at #{mock.url}"}
  end

  defp show({:ok, %Switchboard.Response{} = r}) do
    IO.puts("A: #{String.trim(r.content)}")

    IO.puts(
      "   answered by #{r.client} (#{r.provider}#{if r.model, do: ", #{r.model}"}) in #{r.latency_ms} ms"
    )

    attempts(r.attempts)
    u = r.usage

    IO.puts(
      "   usage: input #{u.input_tokens}, output #{u.output_tokens}, " <>
        "total #{u.total_tokens}, cached #{u.cached_input_tokens || 0}\n"
    )
  end

  defp show({:error, %Switchboard.Error{} = e}) do
    IO.puts("   failed: #{Exception.message(e)}")
    attempts(e.attempts)
  end

  defp attempts(list) do
    IO.puts("   attempts:")

    for {a, i} <- Enum.with_index(list, 1) do
      outcome = if a.error, do: "#{a.status || "-"} #{a.error.kind}", else: "#{a.status} ok"
      IO.puts("     #{i}. #{a.client} (#{a.provider})  #{outcome}  #{a.duration_ms} ms")
    end
  end
end

Demo.run()
