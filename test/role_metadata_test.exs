defmodule Switchboard.RoleMetadataTest do
  @moduledoc """
  Role metadata (`cache_control` for prompt caching) over real HTTP against
  the mock: forwarded only when the client's `allowed_role_metadata`
  allows it, in each provider's own form (Anthropic and Claude on Vertex:
  on the message's last content block; Bedrock: a `cachePoint` block after
  it), never on providers without prompt caching, and the cache writes of
  the answer in `Usage`.
  """
  use Switchboard.Case, async: true

  @ephemeral %{type: "ephemeral"}

  # Metadata beside role and content, or in a `metadata:` map.
  @prompt [
    %{role: "system", content: "A long manual.", cache_control: @ephemeral},
    %{role: "user", content: "First question", cache_control: @ephemeral},
    %{role: "assistant", content: "First answer"},
    %{role: "user", content: "Second question", metadata: %{cache_control: @ephemeral, note: "x"}}
  ]

  @cache_wire %{"type" => "ephemeral"}

  defp client(dialect, sc, options) do
    base = dialect_client("C", dialect, sc)
    update_in(base.options, &Map.merge(&1, options))
  end

  defp sent(dialect, options, prompt \\ @prompt) do
    sc = scripted([%{}])
    reg = registry!(%{clients: [client(dialect, sc, options)]})
    assert {:ok, %Response{}} = Switchboard.call(reg, prompt)
    assert [%{"json" => body, "body" => raw}] = requests(sc)
    {body, raw}
  end

  @anthropic_cached %{
    "system" => [
      %{"type" => "text", "text" => "A long manual.", "cache_control" => @cache_wire}
    ],
    "messages" => [
      %{
        "role" => "user",
        "content" => [
          %{"type" => "text", "text" => "First question", "cache_control" => @cache_wire}
        ]
      },
      %{"role" => "assistant", "content" => "First answer"},
      %{
        "role" => "user",
        "content" => [
          %{"type" => "text", "text" => "Second question", "cache_control" => @cache_wire}
        ]
      }
    ]
  }

  for dialect <- ~w(anthropic vertex-claude) do
    test "#{dialect}: cache_control on the last content block of each message, system too" do
      {body, _} = sent(unquote(dialect), %{allowed_role_metadata: ["cache_control"]})
      assert Map.take(body, ["system", "messages"]) == @anthropic_cached
    end

    test "#{dialect}: without allowed_role_metadata nothing reaches the request" do
      for options <- [%{}, %{allowed_role_metadata: "none"}, %{allowed_role_metadata: ["note"]}] do
        {body, raw} = sent(unquote(dialect), options)
        refute raw =~ "cache_control"
        assert body["system"] == "A long manual."
        assert hd(body["messages"]) == %{"role" => "user", "content" => "First question"}
      end
    end
  end

  test "anthropic: \"all\" forwards every key; a key the block has keeps the block's value" do
    prompt = [%{role: "user", content: "Q", cache_control: @ephemeral, type: "image", extra: 1}]
    {body, _} = sent("anthropic", %{allowed_role_metadata: "all"}, prompt)

    assert body["messages"] == [
             %{
               "role" => "user",
               "content" => [
                 %{"type" => "text", "text" => "Q", "cache_control" => @cache_wire, "extra" => 1}
               ]
             }
           ]
  end

  test "anthropic: on a message of parts, the last part carries it" do
    prompt = [
      %{
        role: "user",
        content: [%{type: "text", text: "a"}, %{type: "text", text: "b"}],
        cache_control: @ephemeral
      }
    ]

    {body, _} = sent("anthropic", %{allowed_role_metadata: ["cache_control"]}, prompt)

    assert body["messages"] == [
             %{
               "role" => "user",
               "content" => [
                 %{"type" => "text", "text" => "a"},
                 %{"type" => "text", "text" => "b", "cache_control" => @cache_wire}
               ]
             }
           ]
  end

  test "aws-bedrock: a cachePoint block after each message that asks for one" do
    {body, raw} = sent("aws-bedrock", %{allowed_role_metadata: ["cache_control"]})
    point = %{"cachePoint" => %{"type" => "default"}}
    refute raw =~ "cache_control"
    assert body["system"] == [%{"text" => "A long manual."}, point]

    assert body["messages"] == [
             %{"role" => "user", "content" => [%{"text" => "First question"}, point]},
             %{"role" => "assistant", "content" => [%{"text" => "First answer"}]},
             %{"role" => "user", "content" => [%{"text" => "Second question"}, point]}
           ]
  end

  test "aws-bedrock: a nil cache_control, beside role or in metadata:, is no cache point" do
    prompt = [
      %{role: "user", content: "a", cache_control: nil},
      %{role: "assistant", content: "b"},
      %{role: "user", content: "c", metadata: %{cache_control: nil}}
    ]

    {_, raw} = sent("aws-bedrock", %{allowed_role_metadata: ["cache_control"]}, prompt)
    refute raw =~ "cachePoint"
  end

  test "aws-bedrock: no cachePoint unless allowed" do
    {_, raw} = sent("aws-bedrock", %{})
    refute raw =~ "cachePoint"
    refute raw =~ "cache_control"
  end

  for dialect <- ~w(openai openai-responses google-ai vertex-gemini) do
    test "#{dialect}: no prompt caching field, so allowed metadata is dropped" do
      {_, raw} = sent(unquote(dialect), %{allowed_role_metadata: "all"})
      refute raw =~ "cache_control"
      refute raw =~ "ephemeral"
      refute raw =~ "note"
    end
  end

  test "a message's metadata must be a map" do
    sc = scripted([])
    reg = registry!(%{clients: [client("anthropic", sc, %{})]})

    assert {:error, %Error{kind: :invalid_request, message: message}} =
             Switchboard.call(reg, [%{role: "user", content: "x", metadata: "cache"}])

    assert message =~ ":metadata must be a map"
    assert requests(sc) == []
  end

  test "allowed_role_metadata other than \"all\", \"none\" or a list is a :config error" do
    for bad <- ["some", 1, [1]] do
      config = %{clients: [anthropic("C", "unused", %{allowed_role_metadata: bad})]}
      assert {:error, %Error{kind: :config, message: message}} = Registry.new(config)
      assert message =~ "allowed_role_metadata"
    end
  end

  describe "cache writes and reads in Usage" do
    test "anthropic reports cache_creation_input_tokens" do
      sc =
        scripted([
          %{usage: %{input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 1500}}
        ])

      reg =
        registry!(%{clients: [anthropic("C", sc, %{allowed_role_metadata: ["cache_control"]})]})

      assert {:ok, %Response{usage: usage}} = Switchboard.call(reg, @prompt)
      assert usage.cache_creation_input_tokens == 1500
      assert usage.input_tokens == 1510
    end

    test "aws-bedrock reports cacheWriteInputTokens as cache_creation_input_tokens" do
      sc =
        scripted([
          %{
            usage: %{
              input_tokens: 10,
              output_tokens: 5,
              cached_input_tokens: 200,
              cache_creation_input_tokens: 1500
            }
          }
        ])

      reg =
        registry!(%{
          clients: [client("aws-bedrock", sc, %{allowed_role_metadata: ["cache_control"]})]
        })

      assert {:ok, %Response{usage: usage}} = Switchboard.call(reg, @prompt)
      assert usage.cache_creation_input_tokens == 1500
      assert usage.cached_input_tokens == 200
      assert usage.input_tokens == 1710
    end
  end
end
