defmodule Switchboard.RolesTest do
  @moduledoc """
  BAML's role selection (`allowed_roles`, `default_role`, `remap_roles`) on
  every wire dialect, over real HTTP against the mock: the exact prompt
  each request carries, and the `:config` errors of options that cannot
  work.
  """
  use Switchboard.Case, async: true

  @prompt [
    %{role: "system", content: "Be brief."},
    %{role: "user", content: "Hi"},
    %{role: "assistant", content: "Hello"},
    %{role: "user", content: "Bye"}
  ]

  @dialects ~w(openai openai-responses anthropic google-ai aws-bedrock vertex-gemini vertex-claude)

  defp client(dialect, sc, options) do
    base = dialect_client("C", dialect, sc)
    update_in(base.options, &Map.merge(&1, options))
  end

  # The prompt as one request of `dialect` carries it.
  defp sent_prompt(dialect, sc, options) do
    reg = registry!(%{clients: [client(dialect, sc, options)]})
    assert {:ok, %Response{}} = Switchboard.call(reg, @prompt)
    assert [%{"json" => body}] = requests(sc)
    prompt_of(dialect, body)
  end

  defp prompt_of(d, body) when d in ~w(openai), do: body["messages"]
  defp prompt_of("openai-responses", body), do: body["input"]

  defp prompt_of(d, body) when d in ~w(anthropic vertex-claude aws-bedrock),
    do: {body["system"], body["messages"]}

  defp prompt_of(d, body) when d in ~w(google-ai vertex-gemini),
    do: {body["systemInstruction"], body["contents"]}

  defp text_turns(turns, wrap) do
    Enum.map(turns, fn {role, texts} -> %{"role" => role, "content" => wrap.(texts)} end)
  end

  defp gemini_turns(turns) do
    Enum.map(turns, fn {role, texts} ->
      %{"role" => role, "parts" => Enum.map(List.wrap(texts), &%{"text" => &1})}
    end)
  end

  defp responses_turns(turns) do
    Enum.map(turns, fn {role, text} ->
      type = if role in ["assistant", "ai"], do: "output_text", else: "input_text"
      %{"role" => role, "content" => [%{"type" => type, "text" => text}]}
    end)
  end

  defp bedrock_turns(turns) do
    text_turns(turns, fn texts -> Enum.map(List.wrap(texts), &%{"text" => &1}) end)
  end

  describe "allowed_roles: a role that is not allowed is sent as default_role" do
    # Without system, each dialect sends the system message as a user
    # message (the default role on every provider once system is gone);
    # Converse merges it with the user message after it, as it refuses two
    # user turns in a row.
    @expected %{
      "openai" => [
        %{"role" => "user", "content" => "Be brief."},
        %{"role" => "user", "content" => "Hi"},
        %{"role" => "assistant", "content" => "Hello"},
        %{"role" => "user", "content" => "Bye"}
      ],
      "openai-responses" => [
        {"user", "Be brief."},
        {"user", "Hi"},
        {"assistant", "Hello"},
        {"user", "Bye"}
      ],
      "anthropic" =>
        {nil,
         [
           %{"role" => "user", "content" => "Be brief."},
           %{"role" => "user", "content" => "Hi"},
           %{"role" => "assistant", "content" => "Hello"},
           %{"role" => "user", "content" => "Bye"}
         ]},
      "google-ai" =>
        {nil, [{"user", "Be brief."}, {"user", "Hi"}, {"model", "Hello"}, {"user", "Bye"}]},
      "aws-bedrock" =>
        {nil, [{"user", ["Be brief.", "Hi"]}, {"assistant", "Hello"}, {"user", "Bye"}]}
    }

    for dialect <- @dialects do
      test "on #{dialect}" do
        sc = scripted([%{}])
        got = sent_prompt(unquote(dialect), sc, %{allowed_roles: ["user", "assistant"]})
        assert got == expected(unquote(dialect), @expected)
      end
    end
  end

  describe "remap_roles renames roles last" do
    @expected %{
      "openai" => [
        %{"role" => "system", "content" => "Be brief."},
        %{"role" => "human", "content" => "Hi"},
        %{"role" => "ai", "content" => "Hello"},
        %{"role" => "human", "content" => "Bye"}
      ],
      "openai-responses" => [
        {"system", "Be brief."},
        {"human", "Hi"},
        {"ai", "Hello"},
        {"human", "Bye"}
      ],
      "anthropic" =>
        {"Be brief.",
         [
           %{"role" => "human", "content" => "Hi"},
           %{"role" => "ai", "content" => "Hello"},
           %{"role" => "human", "content" => "Bye"}
         ]},
      "google-ai" => {:system, [{"human", "Hi"}, {"ai", "Hello"}, {"human", "Bye"}]},
      "aws-bedrock" => {:system, [{"human", "Hi"}, {"ai", "Hello"}, {"human", "Bye"}]}
    }

    for dialect <- @dialects do
      test "on #{dialect}" do
        sc = scripted([%{}])
        remap = %{"user" => "human", "assistant" => "ai"}
        got = sent_prompt(unquote(dialect), sc, %{remap_roles: remap})
        assert got == expected(unquote(dialect), @expected)
      end
    end
  end

  # Vertex sends each family in its own dialect; Responses and Gemini
  # expectations are written as {role, text} turns.
  defp expected("vertex-claude", table), do: expected("anthropic", table)
  defp expected("vertex-gemini", table), do: expected("google-ai", table)
  defp expected("openai-responses", table), do: responses_turns(table["openai-responses"])
  defp expected("google-ai", table), do: gemini(table["google-ai"])
  defp expected("aws-bedrock", table), do: bedrock(table["aws-bedrock"])
  defp expected(dialect, table), do: table[dialect]

  defp gemini({nil, turns}), do: {nil, gemini_turns(turns)}

  defp gemini({:system, turns}),
    do: {%{"parts" => [%{"text" => "Be brief."}]}, gemini_turns(turns)}

  defp bedrock({nil, turns}), do: {nil, bedrock_turns(turns)}
  defp bedrock({:system, turns}), do: {[%{"text" => "Be brief."}], bedrock_turns(turns)}

  test "a role BAML does not name, such as OpenAI's developer, may be the default role" do
    sc = scripted([%{}])

    options = %{allowed_roles: ["developer", "user", "assistant"], default_role: "developer"}

    assert sent_prompt("openai", sc, options) == [
             %{"role" => "developer", "content" => "Be brief."},
             %{"role" => "user", "content" => "Hi"},
             %{"role" => "assistant", "content" => "Hello"},
             %{"role" => "user", "content" => "Bye"}
           ]
  end

  test "OpenAI's o1 models take no system messages by default (BAML's default)" do
    sc = scripted([%{}])

    assert [%{"role" => "user", "content" => "Be brief."} | _] =
             sent_prompt("openai", sc, %{model: "o1-mini"})
  end

  test "a system message sent as user on Anthropic becomes a turn; the rest is unchanged" do
    sc = scripted([%{}])

    assert sent_prompt("anthropic", sc, %{remap_roles: %{"system" => "user"}}) ==
             {nil,
              [
                %{"role" => "user", "content" => "Be brief."},
                %{"role" => "user", "content" => "Hi"},
                %{"role" => "assistant", "content" => "Hello"},
                %{"role" => "user", "content" => "Bye"}
              ]}
  end

  test "each client of a fallback sends the prompt its own way" do
    sc_a = scripted([%{status: 500}])
    sc_b = scripted([%{}])

    reg =
      registry!(%{
        primary: "F",
        clients: [
          client("openai", sc_a, %{}) |> Map.put(:name, "A"),
          client("anthropic", sc_b, %{allowed_roles: ["user", "assistant"]})
          |> Map.put(:name, "B"),
          %{name: "F", provider: "fallback", options: %{strategy: ["A", "B"]}}
        ]
      })

    assert {:ok, %Response{client: "B"}} = Switchboard.call(reg, @prompt)
    assert [%{"json" => a}] = requests(sc_a)
    assert [%{"json" => b}] = requests(sc_b)
    assert hd(a["messages"]) == %{"role" => "system", "content" => "Be brief."}
    assert b["system"] == nil
    assert hd(b["messages"]) == %{"role" => "user", "content" => "Be brief."}
  end

  describe "options that cannot work are :config errors when the registry is built" do
    for {options, names} <- [
          {%{allowed_roles: []}, "allowed_roles"},
          {%{allowed_roles: "user"}, "allowed_roles"},
          {%{allowed_roles: ["user", "assistant"], default_role: "system"}, "default_role"},
          {%{default_role: "robot"}, "default_role"},
          {%{default_role: 1}, "default_role"},
          {%{remap_roles: %{"robot" => "x"}}, "remap_roles"},
          {%{allowed_roles: ["user"], remap_roles: %{"assistant" => "ai"}}, "remap_roles"},
          {%{remap_roles: %{"user" => 1}}, "remap_roles"},
          {%{remap_roles: ["user"]}, "remap_roles"}
        ] do
      test "#{inspect(options)}" do
        config = %{clients: [anthropic("C", "unused", unquote(Macro.escape(options)))]}
        assert {:error, %Error{kind: :config, message: message}} = Registry.new(config)
        assert message =~ ~s(client "C")
        assert message =~ unquote(names)
      end
    end
  end
end
