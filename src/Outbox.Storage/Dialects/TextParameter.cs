using System.Data;
using Dapper;

namespace Outbox.Storage.Dialects;

/// <summary>A text value bound as a plain string parameter, as PostgreSQL and SQLite take a mail body.</summary>
internal sealed class TextParameter(string? value) : SqlMapper.ICustomQueryParameter
{
    public void AddParameter(IDbCommand command, string name)
    {
        ArgumentNullException.ThrowIfNull(command);
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.DbType = DbType.String;
        parameter.Value = (object?)value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
