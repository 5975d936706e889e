defmodule Switchboard.ExamplesTest do
  @moduledoc """
  The examples the README tells users to run, run as they would run them
  (`mix run examples/...` in this project), on the bundled mock.
  """
  use ExUnit.Case, async: true

  @moduletag :example
  @moduletag timeout: :timer.minutes(5)

  @root Path.expand("..", __DIR__)

  test "make agent: the tool loop reads live metrics and ends with a schema-checked report" do
    {output, status} =
      System.cmd(System.find_executable("mix"), ["run", "examples/agent.exs"],
        cd: @root,
        stderr_to_stdout: true,
        # No key: the example must take the mock.
        env: [{"MIX_ENV", "test"}, {"ANTHROPIC_API_KEY", nil}, {"OPENAI_API_KEY", nil}]
      )

    assert status == 0, output
    assert output =~ "using the bundled mock server"

    for metric <- ~w(memory run_queues processes) do
      assert output =~ ~s[called beam_metrics(%{"metric" => "#{metric}"})]
    end

    assert output =~ "Health report (checked against its schema):"
    assert output =~ "  status: healthy\n"
    assert output =~ ~r/  process_count: \d+\n/
    assert output =~ "finish: stop"
  end
end
