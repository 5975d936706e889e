defmodule Switchboard.MalformedInputTest do
  @moduledoc """
  Bad input of every shape returns `{:error, %Switchboard.Error{}}` with a
  message, and never takes the VM down.
  """
  use Switchboard.Case, async: true

  @ok_client %{name: "A", provider: "openai", options: %{model: "m", api_key: "k"}}

  deep = Enum.reduce(1..200, %{"leaf" => 1}, fn _, acc -> %{"x" => acc} end)
  deep_list = Enum.reduce(1..200, [], fn _, acc -> [acc] end)
  huge = String.duplicate("x", 5_000_000)

  many_clients =
    for i <- 1..2000,
        do: %{name: "c#{i}", provider: "fallback", options: %{strategy: ["c#{rem(i, 2000) + 1}"]}}

  @configs [
    {"empty map", %{}},
    {"clients is a string", %{clients: "A"}},
    {"clients is a number", %{clients: 42}},
    {"client is a list", %{clients: [["A"]]}},
    {"client without name", %{clients: [%{provider: "openai"}]}},
    {"client name is a number", %{clients: [%{name: 1, provider: "openai"}]}},
    {"client name is empty",
     %{clients: [%{name: "", provider: "openai", options: %{model: "m"}}]}},
    {"client name is huge",
     %{clients: [%{name: huge, provider: "openai", options: %{model: "m"}}]}},
    {"client name has a newline",
     %{clients: [%{name: "a\nb", provider: "openai", options: %{model: "m"}}]}},
    {"provider missing", %{clients: [%{name: "A"}]}},
    {"provider is an integer", %{clients: [%{name: "A", provider: 7}]}},
    {"provider is huge", %{clients: [%{name: "A", provider: huge}]}},
    {"options is a list", %{clients: [%{name: "A", provider: "openai", options: [1]}]}},
    {"unknown client key", %{clients: [Map.put(@ok_client, :bogus, 1)]}},
    {"unknown registry key", %{clients: [@ok_client], extra: true}},
    {"primary is a number", %{primary: 1, clients: [@ok_client]}},
    {"retry_policies is a list", %{clients: [@ok_client], retry_policies: [1]}},
    {"retry policy max_retries negative",
     %{clients: [@ok_client], retry_policies: %{"P" => %{max_retries: -1}}}},
    {"retry policy max_retries huge",
     %{clients: [@ok_client], retry_policies: %{"P" => %{max_retries: 1_000_000}}}},
    {"retry policy multiplier below 1",
     %{
       clients: [@ok_client],
       retry_policies: %{
         "P" => %{max_retries: 1, strategy: %{type: "exponential_backoff", multiplier: 0.1}}
       }
     }},
    {"non-UTF-8 model",
     %{clients: [%{name: "A", provider: "openai", options: %{model: <<0xFF, 0xFE>>}}]}},
    {"non-UTF-8 client name", %{clients: [%{name: <<0xC3, 0x28>>, provider: "openai"}]}},
    {"bitstring value",
     %{clients: [%{name: "A", provider: "openai", options: %{model: <<1::3>>}}]}},
    {"tuple value", %{clients: [%{name: "A", provider: "openai", options: %{model: {:a, :b}}}]}},
    {"pid value", %{clients: [%{name: "A", provider: "openai", options: %{model: self()}}]}},
    {"function value",
     %{clients: [%{name: "A", provider: "openai", options: %{model: &Function.identity/1}}]}},
    {"bignum value",
     %{clients: [%{name: "A", provider: "openai", options: %{model: "m", max_tokens: 10 ** 40}}]}},
    {"integer map key", %{clients: [%{name: "A", provider: "openai", options: %{1 => "m"}}]}},
    {"deeply nested options",
     %{clients: [%{name: "A", provider: "openai", options: %{model: "m", extra: deep}}]}},
    {"deeply nested list",
     %{clients: [%{name: "A", provider: "openai", options: %{model: "m", extra: deep_list}}]}},
    {"strategy is a string",
     %{clients: [@ok_client, %{name: "F", provider: "fallback", options: %{strategy: "A"}}]}},
    {"strategy holds a number",
     %{clients: [@ok_client, %{name: "F", provider: "fallback", options: %{strategy: [1]}}]}},
    {"self-referencing fallback",
     %{clients: [%{name: "F", provider: "fallback", options: %{strategy: ["F"]}}]}},
    {"2000-client cycle", %{clients: many_clients}},
    {"round-robin start out of range",
     %{
       clients: [
         @ok_client,
         %{name: "R", provider: "round-robin", options: %{strategy: ["A"], start: 5}}
       ]
     }},
    {"leaf timeout on a fallback",
     %{
       clients: [
         @ok_client,
         %{
           name: "F",
           provider: "fallback",
           options: %{strategy: ["A"], http: %{request_timeout_ms: 5}}
         }
       ]
     }},
    {"total timeout on a leaf",
     %{
       clients: [
         %{name: "A", provider: "openai", options: %{model: "m", http: %{total_timeout_ms: 5}}}
       ]
     }},
    {"negative timeout",
     %{
       clients: [
         %{name: "A", provider: "openai", options: %{model: "m", http: %{request_timeout_ms: -5}}}
       ]
     }},
    {"invalid base_url",
     %{clients: [%{name: "A", provider: "openai", options: %{model: "m", base_url: "not a url"}}]}},
    {"ftp base_url",
     %{clients: [%{name: "A", provider: "openai", options: %{model: "m", base_url: "ftp://x"}}]}},
    {"header with a newline",
     %{
       clients: [
         %{name: "A", provider: "openai", options: %{model: "m", headers: %{"x" => "a\nb"}}}
       ]
     }},
    {"stream set by the user",
     %{clients: [%{name: "A", provider: "openai", options: %{model: "m", stream: true}}]}},
    {"allow and deny lists together",
     %{
       clients: [
         %{
           name: "A",
           provider: "openai",
           options: %{
             model: "m",
             finish_reason_allow_list: ["stop"],
             finish_reason_deny_list: ["length"]
           }
         }
       ]
     }},
    {"same key as atom and string",
     %{clients: [%{name: "A", provider: "openai", options: %{"model" => "m", model: "n"}}]}},
    {"aws-bedrock with both an API key and AWS keys",
     %{
       clients: [
         %{
           name: "A",
           provider: "aws-bedrock",
           options: %{model: "m", api_key: "k", access_key_id: "AKID", secret_access_key: "s"}
         }
       ]
     }}
  ]

  test "each malformed config returns a config error" do
    for {label, config} <- @configs do
      result = Switchboard.Registry.new(config)

      assert {:error, %Error{kind: :config, message: message}} = result,
             "#{label}: expected a config error, got #{inspect(result, limit: 5, printable_limit: 80)}"

      assert is_binary(message) and message != "", label
      assert byte_size(message) < 2_000, "#{label}: message too long"
    end
  end

  test "a config that is not a map is a config error" do
    for bad <- [nil, "x", [1], 42, {:a}] do
      assert {:error, %Error{kind: :config}} = Switchboard.Registry.new(bad)
    end
  end

  @prompts [
    {"empty string list", []},
    {"integer", 42},
    {"nil", nil},
    {"map instead of list", %{role: "user", content: "hi"}},
    {"unknown role", [%{role: "robot", content: "x"}]},
    {"role missing", [%{content: "x"}]},
    {"content missing", [%{role: "user"}]},
    {"content is a number", [%{role: "user", content: 5}]},
    {"unknown part type", [%{role: "user", content: [%{type: "audio", data: "x"}]}]},
    {"text part without text", [%{role: "user", content: [%{type: "text"}]}]},
    {"only a system message", [%{role: "system", content: "be nice"}]},
    {"non-UTF-8 content", [%{role: "user", content: <<0xFF>>}]},
    {"non-UTF-8 string prompt", <<0xC0, 0x80>>},
    {"tuple message", [{:user, "hi"}]},
    {"deeply nested content", [%{role: "user", content: [deep]}]},
    {"improper list", [%{role: "user", content: "a"} | :tail]}
  ]

  test "malformed prompts arrive as invalid_request errors" do
    reg = registry!(%{clients: [openai("A", scenario())]})

    for {label, prompt} <- @prompts do
      result = Switchboard.call(reg, prompt)

      assert {:error, %Error{kind: :invalid_request, message: message, attempts: []}} = result,
             "#{label}: got #{inspect(result, limit: 5)}"

      assert message != "", label
    end
  end

  # Arguments over ~16 KB are decoded by call_start_dirty instead of
  # call_start; large pass-through options push these prompts onto that path.
  test "malformed prompts with large arguments arrive as the same errors" do
    reg = registry!(%{clients: [openai("A", scenario())]})
    padding = %{padding: String.duplicate("x", 20_000)}

    for {label, prompt} <- @prompts do
      small = Switchboard.call(reg, prompt)
      large = Switchboard.call(reg, prompt, options: padding)

      assert {:error, %Error{kind: :invalid_request, attempts: []} = e} = large,
             "#{label}: got #{inspect(large, limit: 5)}"

      assert {:error, %Error{message: message}} = small
      assert e.message == message, label
    end
  end

  test "a list prompt of a million items is an error, not a stall" do
    reg = registry!(%{clients: [openai("A", scenario())]})
    prompt = List.duplicate("x", 1_000_000)
    assert {:error, %Error{kind: :invalid_request}} = Switchboard.call(reg, prompt)
    assert {:error, %Error{kind: :invalid_request}} = Switchboard.call(reg, prompt ++ :tail)
  end

  # Options of the wrong type raise ArgumentError before the call starts
  # (test/api_edges_test.exs); what only the registry or the provider can
  # judge is the call's one error.
  test "call options that pass the type checks but cannot be used arrive as errors" do
    reg = registry!(%{clients: [openai("A", scenario())]})

    for {opts, kind} <- [
          {[client: "Nobody"], :config},
          {[options: %{model: <<0xFF>>}], :invalid_request}
        ] do
      assert {:error, %Error{kind: ^kind}} = Switchboard.call(reg, "hi", opts), inspect(opts)
    end
  end

  test "a huge prompt is sent, not rejected" do
    sc = scenario()
    reg = registry!(%{clients: [openai("A", sc)]})
    big = String.duplicate("word ", 400_000)
    assert {:ok, %Response{}} = Switchboard.call(reg, big)
    assert [req] = requests(sc)
    assert byte_size(req["body"]) > 2_000_000
  end
end
