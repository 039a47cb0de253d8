#include "yaml_load.hpp"

#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <vector>

#include "bitnpu/arch/utf8.hpp"
#include "source_map.hpp"
#include "yaml_reader.hpp"

namespace bitnpu::arch::detail {

namespace {

// Records where each document starts; the node contents are not needed.
class DocumentStarts : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> starts;
    // Where the first document's content begins (the parser reports a bare
    // document start at 0:0).
    std::vector<YAML::Mark> first_content;

    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { content(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { content(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
        content(mark);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        content(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        content(mark);
    }
    void OnMapEnd() override {}

private:
    void content(const YAML::Mark& mark) {
        if (first_content.size() < starts.size()) first_content.push_back(mark);
    }
};

// The first character that is neither blank nor part of a comment, 1-based;
// unknown if there is none.
Location first_content_char(const std::string& text, char* found) {
    int line = 1, column = 1;
    bool in_comment = false;
    for (char c : text) {
        if (c == '\n') {
            ++line;
            column = 1;
            in_comment = false;
            continue;
        }
        if (c == '#') in_comment = true;
        if (!in_comment && c != ' ' && c != '\t' && c != '\r') {
            *found = c;
            return {line, column};
        }
        ++column;
    }
    return {};
}

// Tabs are the most common reason a hand-edited file stops parsing, and
// yaml-cpp's message ("illegal block entry") does not say so.
std::string tab_hint(const std::string& text, int line) {
    std::istringstream lines(text);
    std::string content;
    for (int i = 0; i <= line && std::getline(lines, content); ++i) {
    }
    return content.find('\t') != std::string::npos ? " (this line contains a tab; YAML indents with spaces only)"
                                                    : "";
}

[[noreturn]] void fail_empty(const std::string& origin) {
    fail(origin, Location{1, 1}, "",
         "the file is empty; an architecture needs at least 'name' and 'engines' (see docs/arch.md)");
}

// Counts documents with at most three parser steps: enough to see a second
// one, and bounded where yaml-cpp would otherwise never finish.
void reject_extra_documents(const std::string& text, const std::string& origin) {
    std::istringstream input(text);
    YAML::Parser parser(input);
    DocumentStarts events;
    for (int step = 0; step < 3 && parser.HandleNextDocument(events); ++step) {
    }
    if (events.starts.size() > 1) {
        const YAML::Mark at = events.first_content.size() > 1 ? events.first_content[1] : events.starts[1];
        fail(origin, location_of(at), "",
             "expected one YAML document, found more (remove the extra '---')");
    }
}

}  // namespace

YAML::Node load_one_document(const std::string& text, const std::string& origin) {
    // Before parsing: names reach JSON writers, which reject non-UTF-8 bytes.
    check_utf8(text, origin);
    YAML::Node root;
    try {
        root = YAML::Load(text);
        if (!root.IsNull()) reject_extra_documents(text, origin);
    } catch (const YAML::ParserException& e) {
        fail(origin, location_of(e.mark), "", "not valid YAML: " + e.msg + tab_hint(text, e.mark.line));
    } catch (const YAML::Exception& e) {
        fail(origin, location_of(e.mark), "", "not valid YAML: " + e.msg);
    }
    if (root.IsNull()) {
        // yaml-cpp also yields null for text it silently fails to parse (a
        // leading ','): only blank, comment-only or `~` text is really empty.
        char c = 0;
        const Location at = first_content_char(text, &c);
        if (at.known() && c != '~' && c != 'n' && c != 'N' && c != '-' && c != '.') {
            fail(origin, at, "", std::string("not valid YAML: unexpected '") + c + "'");
        }
        fail_empty(origin);
    }
    return root;
}

}  // namespace bitnpu::arch::detail
