using System.Data;
using Dapper;

namespace Outbox.Storage.Dialects;

/// <summary>
/// A text value bound as an Oracle CLOB. ODP.NET binds a string as VARCHAR2, which PL/SQL caps
/// at 32,767 bytes, so a longer mail body would fail (ORA-06502); as a CLOB it has no limit.
/// The driver's OracleDbType is set by name, since this project cannot reference the driver.
/// </summary>
internal sealed class OracleClob(string? value) : SqlMapper.ICustomQueryParameter
{
    public void AddParameter(IDbCommand command, string name)
    {
        ArgumentNullException.ThrowIfNull(command);
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = (object?)value ?? DBNull.Value;
        MarkAsClob(parameter);
        command.Parameters.Add(parameter);
    }

    /// <summary>Sets OracleDbType to Clob on an ODP.NET parameter; leaves any other driver's parameter as it is.</summary>
    internal static void MarkAsClob(IDataParameter parameter)
    {
        var property = parameter.GetType().GetProperty("OracleDbType");
        if (property is { CanWrite: true, PropertyType.IsEnum: true })
        {
            property.SetValue(parameter, Enum.Parse(property.PropertyType, "Clob"));
        }
    }
}
