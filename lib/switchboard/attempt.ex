defmodule Switchboard.Attempt do
  @moduledoc """
  One HTTP attempt made while answering a call, in the order made.

  `status` is the HTTP status (`nil` when no response arrived, e.g. a
  connection error, a timeout, or a client whose API key was missing),
  `error` the `Switchboard.Error` of a failed attempt (its own `attempts`
  list is empty), `duration_ms` the attempt's wall time, `started_at` when
  it started (a UTC `DateTime`, microseconds),
  `time_to_first_token_ms` the time from its start to its first streamed
  text (`nil` when nothing was streamed: a call that is not streamed, or
  an attempt that failed first), and `usage` the `Switchboard.Usage` of
  the answer it read, with its `cost` under the client's `pricing` (`nil`
  when no answer was read; an answer read and then rejected was billed and
  has it, see `Switchboard.Usage`).

      {:ok, response} = Switchboard.call(MyApp.LLM, "Hi")
      for %Switchboard.Attempt{client: client, status: status, error: error} <- response.attempts do
        {client, status, error && error.kind}
      end
      #=> [{"Primary", 529, :overloaded}, {"Backup", 200, nil}]
  """

  @type t :: %__MODULE__{
          client: String.t(),
          provider: String.t(),
          status: non_neg_integer() | nil,
          error: Switchboard.Error.t() | nil,
          duration_ms: non_neg_integer(),
          started_at: DateTime.t() | nil,
          time_to_first_token_ms: non_neg_integer() | nil,
          usage: Switchboard.Usage.t() | nil
        }

  defstruct [
    :client,
    :provider,
    :status,
    :error,
    :duration_ms,
    :started_at,
    :time_to_first_token_ms,
    :usage
  ]
end
