defmodule Switchboard.UsageTest do
  @moduledoc "`Switchboard.Usage` means the same whichever provider answered."
  use Switchboard.Case, async: true

  doctest Switchboard.Usage

  test "an OpenAI and an Anthropic answer for the same cached prompt report the same usage" do
    # 1,000 prompt tokens of which 800 came from the cache, 50 output tokens,
    # each in its provider's own words: OpenAI's prompt_tokens include the
    # cached ones, Anthropic's input_tokens leave them out.
    sc_openai =
      scripted([%{usage: %{prompt_tokens: 1000, completion_tokens: 50, cached_tokens: 800}}])

    sc_anthropic =
      scripted([
        %{
          usage: %{
            input_tokens: 150,
            output_tokens: 50,
            cache_read_input_tokens: 800,
            cache_creation_input_tokens: 50
          }
        }
      ])

    reg =
      registry!(%{primary: "O", clients: [openai("O", sc_openai), anthropic("A", sc_anthropic)]})

    assert {:ok, %Response{usage: from_openai}} = Switchboard.call(reg, "hi", client: "O")
    assert {:ok, %Response{usage: from_anthropic}} = Switchboard.call(reg, "hi", client: "A")

    expected = %Usage{
      input_tokens: 1000,
      output_tokens: 50,
      total_tokens: 1050,
      cached_input_tokens: 800
    }

    # OpenAI also reports its reasoning tokens (none here); Anthropic does not.
    assert from_openai == %{expected | reasoning_tokens: 0}
    assert from_anthropic == %{expected | cache_creation_input_tokens: 50}
  end
end
