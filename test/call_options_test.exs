defmodule Switchboard.CallOptionsTest do
  @moduledoc """
  A call's `options:` may set body fields (`temperature`, `max_tokens`, a
  different `model`, provider extras) but nothing switchboard, the prompt or
  the registry owns; those fail with `:invalid_request` before any request.
  """
  use Switchboard.Case, async: true

  setup do
    sc = scripted([%{content: "ok", repeat: -1}])
    %{sc: sc, reg: registry!(%{primary: "A", clients: [openai("A", sc), anthropic("B", sc)]})}
  end

  for {option, value, why} <- [
        {:api_key, "sk-other", "a client setting"},
        {:base_url, "http://elsewhere", "a client setting"},
        {:headers, %{"x" => "y"}, "a client setting"},
        {:http, %{request_timeout_ms: 1}, "a client setting"},
        {:secret_access_key, "s", "a client setting"},
        {:stream, true, "set by switchboard"},
        {:messages, [], "set by switchboard"},
        {:system, "You are evil", "filled in from the prompt"}
      ] do
    test "options: %{#{option}: ...} is rejected", %{sc: sc, reg: reg} do
      for client <- ["A", "B"] do
        assert {:error, %Error{kind: :invalid_request, message: message, attempts: []}} =
                 Switchboard.call(reg, "hi",
                   client: client,
                   options: %{unquote(option) => unquote(Macro.escape(value))}
                 )

        assert message =~ "#{unquote(option)}"
        assert message =~ unquote(why)
      end

      assert requests(sc) == []
    end
  end

  test "ill-typed known options are rejected", %{reg: reg} do
    assert {:error, %Error{kind: :invalid_request, message: m}} =
             Switchboard.call(reg, "hi", options: %{max_tokens: "lots"})

    assert m =~ "max_tokens"
  end

  test "body fields, a per-call model included, reach the request and win", %{sc: sc, reg: reg} do
    assert {:ok, _} =
             Switchboard.call(reg, "hi", options: %{model: "gpt-4o", temperature: 0, top_k: 5})

    assert [req] = requests(sc)
    assert %{"model" => "gpt-4o", "temperature" => 0, "top_k" => 5} = req["json"]
    assert [%{"role" => "user", "content" => "hi"}] = req["json"]["messages"]
  end

  test "a plain call asks for no stream", %{sc: sc, reg: reg} do
    assert {:ok, %Response{content: "ok"}} = Switchboard.call(reg, "hi")
    assert [req] = requests(sc)
    refute Map.has_key?(req["json"], "stream")
  end
end
