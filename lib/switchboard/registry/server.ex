defmodule Switchboard.Registry.Server do
  @moduledoc false
  # The process behind a named registry. It builds the registry when it
  # starts and publishes the handle in `:persistent_term`, where calls read
  # it without a message to this process. Reloads and edits by name go
  # through it, one at a time, so each is validated against the registry in
  # force and swapped in whole. Its state is the name only: configs (and
  # the keys in them) are never kept in a process's state or messages,
  # only behind functions.

  use GenServer

  alias Switchboard.{Error, Registry}

  @spec start_link(atom(), (() -> map())) :: GenServer.on_start()
  def start_link(name, config) do
    GenServer.start_link(__MODULE__, {name, config}, name: name)
  end

  @doc false
  @spec lookup(atom()) :: Registry.t() | nil
  def lookup(name), do: :persistent_term.get(key(name), nil)

  @doc false
  # Applies `change` (a registry handle -> the NIF's result) to the named
  # registry and publishes the result; `nil` when no registry has the name.
  @spec update(atom(), (reference() -> term())) ::
          {:ok, Registry.t()} | {:error, Error.t()} | nil
  def update(name, change) do
    GenServer.call(name, {:update, change}, :infinity)
  catch
    :exit, {reason, _} when reason in [:noproc, :normal, :shutdown] -> nil
  end

  @doc false
  # The options of a `use Switchboard.Registry` module, read when it starts:
  # the application environment's, then the child spec's, through `init/1`.
  @spec module_config(module(), atom(), keyword()) :: map()
  def module_config(module, otp_app, opts) do
    env = Application.get_env(otp_app, module, [])

    unless Keyword.keyword?(env) do
      raise ArgumentError,
            "config #{inspect(otp_app)}, #{inspect(module)} must be a keyword list " <>
              "with :client_registry"
    end

    opts =
      case module.init(Keyword.merge(env, opts)) do
        {:ok, opts} when is_list(opts) ->
          opts

        _other ->
          # Not shown: it may hold the config's keys.
          raise ArgumentError,
                "#{inspect(module)}.init/1 must return {:ok, opts} (a keyword list)"
      end

    case Keyword.fetch(opts, :client_registry) do
      {:ok, config} when is_map(config) ->
        config

      {:ok, config} when is_function(config, 0) ->
        config.()

      {:ok, _other} ->
        raise ArgumentError,
              "#{inspect(module)}: :client_registry must be a config map, as in " <>
                "config #{inspect(otp_app)}, #{inspect(module)}, client_registry: %{clients: [...]}"

      :error ->
        raise ArgumentError,
              "#{inspect(module)} has no :client_registry: set " <>
                "config #{inspect(otp_app)}, #{inspect(module)}, client_registry: %{clients: [...]} " <>
                "(config/runtime.exs is read at boot)"
    end
  end

  @impl true
  def init({name, config}) do
    # So `terminate/2` runs when the supervisor shuts the registry down.
    Process.flag(:trap_exit, true)

    case Registry.new(config.()) do
      {:ok, reg} ->
        publish(name, reg)
        {:ok, name}

      # Raised, so the application's boot fails with the error's message.
      {:error, %Error{} = error} ->
        raise %{error | message: "registry #{inspect(name)}: #{error.message}"}
    end
  end

  @impl true
  def handle_call({:update, change}, _from, name) do
    current = lookup(name)

    case Registry.wrap(change.(current.handle)) do
      {:ok, reg} -> {:reply, {:ok, publish(name, reg)}, name}
      {:error, _} = error -> {:reply, error, name}
    end
  end

  # On a crash the published registry stays, so calls go on while the
  # supervisor restarts this process (which publishes afresh); only a
  # shutdown takes the name away.
  @impl true
  def terminate(reason, name) do
    if reason in [:normal, :shutdown] or match?({:shutdown, _}, reason) do
      :persistent_term.erase(key(name))
    end

    :ok
  end

  defp publish(name, reg) do
    reg = %{reg | name: name}
    :persistent_term.put(key(name), reg)
    reg
  end

  defp key(name), do: {Registry, name}
end
