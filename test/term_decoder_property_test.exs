defmodule Switchboard.TermDecoderPropertyTest do
  @moduledoc """
  The NIF's term decoder (native/switchboard_nif/src/term.rs) on generated
  terms, through the public API: any term in is a value or an error out,
  never a crash of the caller or the VM. Terms come from
  `Switchboard.TermGenerator` with a seed printed on failure; set
  `SWITCHBOARD_TERM_SEED` to replay one, `SWITCHBOARD_TERM_CASES` for more
  cases.
  """
  use Switchboard.Case, async: true

  alias Switchboard.TermGenerator, as: Gen

  doctest Switchboard.TermGenerator

  @cases String.to_integer(System.get_env("SWITCHBOARD_TERM_CASES", "300"))

  defp seed do
    case System.get_env("SWITCHBOARD_TERM_SEED") do
      nil -> :erlang.unique_integer([:positive]) + System.system_time()
      s -> String.to_integer(s)
    end
  end

  # Runs `check` on `@cases` generator states drawn from one seed.
  defp forall(check) do
    seed = seed()

    Enum.reduce(1..@cases, Gen.new(seed), fn i, gen ->
      try do
        check.(gen)
      rescue
        e ->
          reraise "case #{i} of seed #{seed} (SWITCHBOARD_TERM_SEED=#{seed}): " <>
                    Exception.message(e),
                  __STACKTRACE__
      end

      # The next case's generator: the state after a throwaway draw.
      {_, gen} = :rand.uniform_s(gen)
      gen
    end)
  end

  defp registry_or_error!(result, what) do
    case result do
      {:ok, %Registry{}} -> :ok
      {:error, %Error{kind: :config, message: m}} when is_binary(m) -> :ok
      other -> flunk("#{what}: #{inspect(other)}")
    end
  end

  test "any term as a whole config is a registry or a :config error" do
    forall(fn gen ->
      {term, _} = Gen.term(gen, 5)
      registry_or_error!(Registry.new(term), "Registry.new(#{inspect(term, limit: 20)})")
    end)
  end

  test "any term inside a client's options is a registry or a :config error" do
    forall(fn gen ->
      {provider, gen} = Gen.term(gen, 0)
      {options, gen} = Gen.map(gen, 4)
      {clients, _} = Gen.term(gen, 3)
      provider = if is_binary(provider), do: provider, else: "openai"

      config = %{
        clients: [%{name: "A", provider: provider, options: Map.put(options, :api_key, "sk")}],
        retry_policies: clients
      }

      registry_or_error!(Registry.new(config), inspect(config, limit: 20))

      # add_client/5 decodes its options the same way.
      base = Registry.new!(%{clients: [%{name: "B", provider: "ollama", options: %{model: "m"}}]})

      Registry.add_client(base, "C", "openai", options)
      |> registry_or_error!("add_client #{inspect(options, limit: 20)}")
    end)
  end

  # No server listens on port 1: a call that decodes fails as :network,
  # one that does not as its own error; both are one terminal answer.
  test "any prompt and call options are an answer or an error" do
    reg =
      Registry.new!(%{
        clients: [
          %{
            name: "A",
            provider: "openai",
            options: %{model: "m", api_key: "sk", base_url: "http://127.0.0.1:1/v1"}
          }
        ]
      })

    forall(fn gen ->
      {prompt, gen} = Gen.term(gen, 4)
      {options, gen} = Gen.map(gen, 3)
      {tools, gen} = Gen.list(gen, 3)
      {schema, gen} = Gen.map(gen, 3)
      {metadata, gen} = Gen.term(gen, 3)
      {client, _} = Gen.term(gen, 0)
      client = if is_binary(client), do: client, else: "A"

      opts = [
        options: options,
        tools: tools,
        output_schema: schema,
        metadata: metadata,
        client: client,
        timeout: 5_000
      ]

      # Each option alone too, so one bad value does not hide the others.
      for opts <- [opts | Enum.map(opts, &[&1, timeout: 5_000])] do
        case Switchboard.call(reg, prompt, opts) do
          {:ok, %Switchboard.Response{}} -> :ok
          {:error, %Error{kind: kind}} when is_atom(kind) -> :ok
          other -> flunk("call: #{inspect(other)}")
        end
      end
    end)

    # The VM and the NIF are still there.
    assert {:ok, _} =
             Registry.new(%{clients: [%{name: "Z", provider: "ollama", options: %{model: "m"}}]})
  end
end
