using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace ZapHub.Data.Migrations.Postgres
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
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LastRefusedInstance",
                table: "Sessions",
                type: "character varying(60)",
                maxLength: 60,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "RefusedEvents",
                table: "Sessions",
                type: "integer",
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
