defmodule Switchboard.AwsEnv do
  @moduledoc """
  An AWS environment for a test that reaches nothing beyond the mock: the
  AWS variables of the emulator's environment cleared, profile files that
  do not exist, instance metadata off; all restored when the test exits.
  For tests that are not async.
  """

  import ExUnit.Callbacks, only: [on_exit: 1]

  @vars ~w(AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
           AWS_REGION AWS_DEFAULT_REGION AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE
           AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN AWS_ROLE_SESSION_NAME
           AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
           AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
           AWS_EC2_METADATA_DISABLED AWS_EC2_METADATA_SERVICE_ENDPOINT
           AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_STS
           AWS_ENDPOINT_URL_BEDROCK_RUNTIME AWS_IGNORE_CONFIGURED_ENDPOINT_URLS
           AWS_BEARER_TOKEN_BEDROCK)

  @doc """
  Isolates the test's AWS environment (call it from `setup`) and returns
  the folder the profile files would be in.

  ## Examples

      setup do
        %{dir: Switchboard.AwsEnv.isolate!()}
      end
  """
  @spec isolate!() :: Path.t()
  def isolate! do
    saved = for var <- @vars, into: %{}, do: {var, System.get_env(var)}
    Enum.each(@vars, &System.delete_env/1)
    dir = Path.join(System.tmp_dir!(), "switchboard-aws-#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    System.put_env("AWS_CONFIG_FILE", Path.join(dir, "config"))
    System.put_env("AWS_SHARED_CREDENTIALS_FILE", Path.join(dir, "credentials"))
    System.put_env("AWS_EC2_METADATA_DISABLED", "true")

    on_exit(fn ->
      for {var, value} <- saved do
        if value, do: System.put_env(var, value), else: System.delete_env(var)
      end

      File.rm_rf!(dir)
    end)

    dir
  end
end
