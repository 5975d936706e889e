defmodule Switchboard.TermGenerator do
  @moduledoc """
  Random Erlang terms for property tests, from a seed (no StreamData: the
  Hex registry is unreachable here). Everything a caller could pass to the
  NIF: maps with atom, string and odd keys, proper and improper lists,
  tuples, binaries (valid and invalid UTF-8, bitstrings), integers past 64
  bits, floats, atoms from a fixed list, pids, references, functions, and
  nesting past the decoder's depth limit.

      iex> gen = Switchboard.TermGenerator.new(42)
      iex> {term, _gen} = Switchboard.TermGenerator.term(gen)
      iex> term == elem(Switchboard.TermGenerator.term(Switchboard.TermGenerator.new(42)), 0)
      true
  """

  @typedoc "A generator: the `:rand` state it draws from."
  @type t :: :rand.state()

  # Atoms only from this list: a generator must not make atoms either.
  @atoms [
    nil,
    true,
    false,
    :model,
    :clients,
    :provider,
    :options,
    :name,
    :primary,
    :strategy,
    :api_key,
    :base_url,
    :role,
    :content,
    :user,
    :text,
    :type,
    :http,
    :headers,
    :max_tokens,
    :"with space",
    :é
  ]
  @keys ~w(clients primary retry_policies name provider options model api_key base_url
           strategy http headers role content type text max_tokens temperature tools)
  @providers ~w(openai anthropic google-ai vertex-ai aws-bedrock openai-responses ollama
                fallback round-robin nope)
  @binaries [
    "",
    "gpt-4o",
    "openai",
    "A",
    "user",
    "é😀",
    <<0xFF, 0xFE>>,
    <<0xC3>>,
    <<"ok", 0, "nul">>,
    <<0xED, 0xA0, 0x80>>
  ]
  @integers [
    0,
    1,
    -1,
    2 ** 31,
    2 ** 63 - 1,
    2 ** 63,
    -(2 ** 63) - 1,
    2 ** 64,
    2 ** 200,
    -(2 ** 200)
  ]
  @floats [0.0, -0.0, 1.5, -2.5e-300, 1.0e308, -1.7976931348623157e308, 5.0e-324]

  @doc "A generator seeded with `seed`."
  @spec new(integer()) :: t()
  def new(seed), do: :rand.seed_s(:exsss, seed)

  @doc "A random term, nested at most `depth` levels."
  @spec term(t(), non_neg_integer()) :: {term(), t()}
  def term(gen, depth \\ 4) do
    {pick, gen} = :rand.uniform_s(if(depth == 0, do: 8, else: 13), gen)
    scalar_or_nested(pick, gen, depth)
  end

  defp scalar_or_nested(1, gen, _), do: one_of(@atoms, gen)
  defp scalar_or_nested(2, gen, _), do: one_of(@binaries, gen)
  defp scalar_or_nested(3, gen, _), do: random_binary(gen)
  defp scalar_or_nested(4, gen, _), do: one_of(@integers, gen)
  defp scalar_or_nested(5, gen, _), do: one_of(@floats, gen)

  defp scalar_or_nested(6, gen, _) do
    {n, gen} = :rand.uniform_s(5, gen)
    {Enum.at([self(), make_ref(), fn -> :ok end, <<1::3>>, <<7, 1::1>>], n - 1), gen}
  end

  defp scalar_or_nested(7, gen, _), do: one_of(@keys ++ @providers, gen)
  defp scalar_or_nested(8, gen, _), do: {:rand.uniform_s(1000, gen) |> elem(0), gen}
  defp scalar_or_nested(n, gen, depth) when n in [9, 10], do: map(gen, depth - 1)
  defp scalar_or_nested(11, gen, depth), do: list(gen, depth - 1)
  defp scalar_or_nested(12, gen, depth), do: improper_or_tuple(gen, depth - 1)
  defp scalar_or_nested(13, gen, _depth), do: deep(gen)

  @doc "A random map: keys atoms, strings, and now and then anything."
  @spec map(t(), non_neg_integer()) :: {map(), t()}
  def map(gen, depth) do
    {n, gen} = :rand.uniform_s(5, gen)

    Enum.reduce(1..n, {%{}, gen}, fn _, {acc, gen} ->
      {key, gen} = key(gen, depth)
      {value, gen} = term(gen, depth)
      {Map.put(acc, key, value), gen}
    end)
  end

  defp key(gen, depth) do
    {pick, gen} = :rand.uniform_s(10, gen)

    case pick do
      n when n <= 4 -> one_of(@keys, gen)
      n when n <= 7 -> one_of(Enum.map(@keys, &String.to_atom/1), gen)
      8 -> one_of(@binaries, gen)
      _ -> term(gen, max(depth - 1, 0))
    end
  end

  @doc "A random proper list."
  @spec list(t(), non_neg_integer()) :: {list(), t()}
  def list(gen, depth) do
    {n, gen} = :rand.uniform_s(5, gen)

    {items, gen} =
      Enum.reduce(1..n, {[], gen}, fn _, {acc, gen} ->
        {item, gen} = term(gen, depth)
        {[item | acc], gen}
      end)

    {items, gen}
  end

  defp improper_or_tuple(gen, depth) do
    {a, gen} = term(gen, depth)
    {b, gen} = term(gen, depth)
    {pick, gen} = :rand.uniform_s(3, gen)

    case pick do
      1 -> {[a | b], gen}
      2 -> {{a, b}, gen}
      3 -> {[a, b | :tail], gen}
    end
  end

  # Past the decoder's 64 levels, as a list or a map chain.
  defp deep(gen) do
    {n, gen} = :rand.uniform_s(100, gen)
    {as_map, gen} = :rand.uniform_s(2, gen)
    wrap = if as_map == 1, do: &%{"content" => &1}, else: &[&1]
    {Enum.reduce(1..(n + 10), "leaf", fn _, acc -> wrap.(acc) end), gen}
  end

  defp random_binary(gen) do
    {n, gen} = :rand.uniform_s(24, gen)
    {bytes, gen} = :rand.bytes_s(n, gen)
    {bytes, gen}
  end

  defp one_of(list, gen) do
    {i, gen} = :rand.uniform_s(length(list), gen)
    {Enum.at(list, i - 1), gen}
  end
end
