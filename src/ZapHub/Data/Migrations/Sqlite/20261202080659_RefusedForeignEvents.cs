using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ZapHub.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class RefusedForeignEvents : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "LastRefusedAt",
                table: "Sessions",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastRefusedInstance",
                table: "Sessions",
                type: "TEXT",
                maxLength: 60,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "RefusedEvents",
                table: "Sessions",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "LastRefusedAt",
                table: "Sessions");

            migrationBuilder.DropColumn(
                name: "LastRefusedInstance",
                table: "Sessions");

            migrationBuilder.DropColumn(
                name: "RefusedEvents",
                table: "Sessions");
        }
    }
}
