/*
 * Why this file exists: Swift cannot call toml++'s C++ API (templates, string_view, exceptions).
 * This parses with toml++, keeps every C++ exception on this side, and reports the parsed tree
 * node by node, each with the source line toml++ recorded, through the C callback declared in
 * omni_toml.h. Dates and times are handed over as their TOML text.
 */
#include "omni_toml.h"

#include <toml++/toml.h>

#include <exception>
#include <sstream>
#include <string>
#include <string_view>

// Debian's libtomlplusplus.so is built with exceptions (it exports toml::v3::ex::parse, not
// noex::parse), so this file must see the same TOML_EXCEPTIONS or the declarations would not
// match the library (and the link would fail on noex symbols).
#if !TOML_EXCEPTIONS
#error "toml_shim.cpp must be compiled with C++ exceptions to match Debian's libtomlplusplus"
#endif

namespace {

struct Walker {
    omni_toml_visitor visit;
    void *context;

    static omni_toml_event event(omni_toml_kind kind, const toml::source_region &where) {
        omni_toml_event e{};
        e.kind = kind;
        e.line = where.begin.line;
        e.column = where.begin.column;
        return e;
    }

    static void set_key(omni_toml_event &e, const toml::key *key) {
        if (key == nullptr) return;
        e.key = key->str().data();
        e.key_length = key->str().size();
    }

    template <typename T>
    void date_time(omni_toml_event &e, const toml::node &node) {
        std::ostringstream out;
        out << *node.value<T>();
        const std::string text = out.str();
        e.kind = OMNI_TOML_DATE_TIME;
        e.text = text.data();
        e.text_length = text.size();
        visit(&e, context);
    }

    void node(const toml::key *key, const toml::node &node) {
        omni_toml_event e = event(OMNI_TOML_STRING, node.source());
        set_key(e, key);
        switch (node.type()) {
        case toml::node_type::table:
            e.kind = OMNI_TOML_TABLE_BEGIN;
            visit(&e, context);
            children(*node.as_table());
            e = event(OMNI_TOML_TABLE_END, node.source());
            visit(&e, context);
            return;
        case toml::node_type::array:
            e.kind = OMNI_TOML_ARRAY_BEGIN;
            visit(&e, context);
            for (const toml::node &element : *node.as_array()) this->node(nullptr, element);
            e = event(OMNI_TOML_ARRAY_END, node.source());
            visit(&e, context);
            return;
        case toml::node_type::string: {
            const std::string &s = node.as_string()->get();
            e.kind = OMNI_TOML_STRING;
            e.text = s.data();
            e.text_length = s.size();
            visit(&e, context);
            return;
        }
        case toml::node_type::integer:
            e.kind = OMNI_TOML_INTEGER;
            e.integer = node.as_integer()->get();
            visit(&e, context);
            return;
        case toml::node_type::floating_point:
            e.kind = OMNI_TOML_FLOAT;
            e.number = node.as_floating_point()->get();
            visit(&e, context);
            return;
        case toml::node_type::boolean:
            e.kind = OMNI_TOML_BOOLEAN;
            e.boolean = node.as_boolean()->get();
            visit(&e, context);
            return;
        case toml::node_type::date: date_time<toml::date>(e, node); return;
        case toml::node_type::time: date_time<toml::time>(e, node); return;
        case toml::node_type::date_time: date_time<toml::date_time>(e, node); return;
        case toml::node_type::none: return;
        }
    }

    void children(const toml::table &table) {
        for (auto &&[key, value] : table) node(&key, value);
    }
};

void report_error(omni_toml_visitor visit, void *context, std::string_view message, uint32_t line,
                  uint32_t column) {
    omni_toml_event e{};
    e.kind = OMNI_TOML_ERROR;
    e.text = message.data();
    e.text_length = message.size();
    e.line = line;
    e.column = column;
    visit(&e, context);
}

} // namespace

extern "C" bool omni_toml_parse(const char *text, size_t length, omni_toml_visitor visit, void *context) {
    try {
        const toml::table root = toml::parse(std::string_view(text, length));
        Walker{visit, context}.children(root);
        return true;
    } catch (const toml::parse_error &error) {
        report_error(visit, context, error.description(), error.source().begin.line, error.source().begin.column);
    } catch (const std::exception &error) {
        report_error(visit, context, error.what(), 0, 0);
    } catch (...) {
        report_error(visit, context, "unknown C++ exception", 0, 0);
    }
    return false;
}
