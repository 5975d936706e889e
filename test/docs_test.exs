defmodule Switchboard.DocsTest do
  @moduledoc """
  Every public module and function of the library is documented with an
  example, and every public function has a `@spec`: what `h/1` and the
  generated docs show a user. Modules with `@moduledoc false` are internal
  and skipped, as are the suite's own support modules.
  """
  use ExUnit.Case, async: true

  # A code block (indented four spaces, as in the docs' Markdown) or an iex> prompt.
  @example ~r/(^|\n)(    |\t)\S|iex>/

  defp public_modules do
    for module <- Application.spec(:switchboard, :modules),
        not String.contains?(to_string(module.module_info(:compile)[:source]), "/test/"),
        # Protocol implementations are documented by their protocol.
        not function_exported?(module, :__impl__, 1),
        {:docs_v1, _, :elixir, _, moduledoc, _, docs} = Code.fetch_docs(module),
        moduledoc != :hidden do
      {module, moduledoc, docs}
    end
  end

  test "the library has public modules to check" do
    modules = Enum.map(public_modules(), &elem(&1, 0))
    assert Switchboard in modules and Switchboard.Registry in modules
  end

  test "every public module has a @moduledoc with an example" do
    missing =
      for {module, moduledoc, _docs} <- public_modules(),
          not match?(%{"en" => text} when is_binary(text), moduledoc) or
            not (moduledoc["en"] =~ @example),
          do: inspect(module)

    assert missing == [], "no @moduledoc with an example: #{Enum.join(missing, ", ")}"
  end

  test "every public function, macro and callback has a @doc with an example" do
    missing =
      for {module, _moduledoc, docs} <- public_modules(),
          {{kind, name, arity}, _anno, _signature, doc, _meta} <- docs,
          kind in [:function, :macro, :callback],
          doc != :hidden,
          not match?(%{"en" => text} when is_binary(text), doc) or not (doc["en"] =~ @example),
          do: "#{inspect(module)}.#{name}/#{arity}"

    assert missing == [], "no @doc with an example: #{Enum.join(missing, ", ")}"
  end

  test "every public function has a @spec" do
    missing =
      for {module, _moduledoc, docs} <- public_modules(),
          specs = specs(module),
          {{kind, name, arity}, _anno, _signature, doc, meta} <- docs,
          kind in [:function, :macro],
          doc != :hidden,
          not specced?(specs, kind, name, arity, Map.get(meta, :defaults, 0)),
          do: "#{inspect(module)}.#{name}/#{arity}"

    assert missing == [], "no @spec: #{Enum.join(missing, ", ")}"
  end

  defp specs(module) do
    case Code.Typespec.fetch_specs(module) do
      {:ok, specs} -> Map.new(specs)
      :error -> %{}
    end
  end

  # A function with defaults is specced at any of its arities; a macro's
  # spec is on its expansion function, MACRO-name with the caller's env.
  defp specced?(specs, :macro, name, arity, _defaults),
    do: Map.has_key?(specs, {:"MACRO-#{name}", arity + 1})

  defp specced?(specs, :function, name, arity, defaults),
    do: Enum.any?((arity - defaults)..arity, &Map.has_key?(specs, {name, &1}))
end
