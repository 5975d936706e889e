defmodule Switchboard.EnvTest do
  @moduledoc "API keys from the environment; not async because it edits the OS environment."
  use Switchboard.Case, async: false

  setup do
    saved =
      for var <- ~w(OPENROUTER_API_KEY OPENAI_API_KEY), into: %{}, do: {var, System.get_env(var)}

    on_exit(fn ->
      for {var, value} <- saved do
        if value, do: System.put_env(var, value), else: System.delete_env(var)
      end
    end)
  end

  test "the provider's variable is read when the call is made" do
    sc = scenario()
    base = Mock.base_url(mock(), sc, "openrouter")
    System.delete_env("OPENROUTER_API_KEY")

    reg =
      registry!(%{
        clients: [
          %{name: "R", provider: "openrouter", options: %{model: "meta/llama", base_url: base}}
        ]
      })

    assert {:error, %Error{kind: :auth, client: "R", message: msg}} = Switchboard.call(reg, "hi")
    assert msg =~ "OPENROUTER_API_KEY"
    assert requests(sc) == []

    System.put_env("OPENROUTER_API_KEY", "or-key-1")
    assert {:ok, %Response{provider: "openrouter"}} = Switchboard.call(reg, "hi")
    assert [req] = requests(sc)
    assert header(req, "authorization") == "Bearer or-key-1"
    assert req["path"] == "/api/v1/chat/completions"
  end

  test "a client without its key fails as an attempt and the fallback moves on" do
    a = scenario()
    b = scenario()
    System.delete_env("OPENROUTER_API_KEY")

    reg =
      registry!(%{
        primary: "F",
        clients: [
          %{
            name: "NoKey",
            provider: "openrouter",
            options: %{model: "x", base_url: Mock.base_url(mock(), a, "openrouter")}
          },
          openai("Backup", b),
          %{name: "F", provider: "fallback", options: %{strategy: ["NoKey", "Backup"]}}
        ]
      })

    assert {:ok, %Response{client: "Backup"} = resp} = Switchboard.call(reg, "hi")

    assert [
             %Attempt{client: "NoKey", status: nil, error: %Error{kind: :auth}},
             %Attempt{client: "Backup"}
           ] = resp.attempts

    assert requests(a) == []
  end

  test "a provider/model name in client: resolves to that provider's defaults" do
    System.delete_env("OPENAI_API_KEY")
    reg = registry!(%{clients: [openai("A", scenario())]})

    assert {:error, %Error{kind: :auth, client: "openai/gpt-4o-mini", message: msg}} =
             Switchboard.call(reg, "hi", client: "openai/gpt-4o-mini")

    assert msg =~ "OPENAI_API_KEY"
  end
end
